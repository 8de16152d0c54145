package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// franz-go: kgo speaks the newest version of every API the broker
// advertises; kadm is its admin client. Groups use the classic protocol, or
// KIP-848's with ServerSideBalancer.
type franz struct{}

func franzCodec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func franzClient(bootstrap string, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap)}, opts...)...)
}

// Kafka's error code of err: 0 for nil, -1 when it is not a broker's error.
func franzCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return -1
}

func toFranz(r record, topic string) *kgo.Record {
	kr := &kgo.Record{Topic: topic, Partition: r.partition, Key: r.key, Value: r.value}
	for _, h := range r.headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h[0], Value: []byte(h[1])})
	}
	if r.timestamp != 0 {
		kr.Timestamp = time.UnixMilli(r.timestamp)
	}
	return kr
}

func fromFranz(kr *kgo.Record) record {
	r := record{partition: kr.Partition, offset: kr.Offset, key: kr.Key, value: kr.Value,
		timestamp: kr.Timestamp.UnixMilli()}
	for _, h := range kr.Headers {
		r.headers = append(r.headers, [2]string{h.Key, string(h.Value)})
	}
	return r
}

// produceBatch sends records as one batch (manual flushing) and answers
// their offsets in order.
func franzProduceBatch(cl *kgo.Client, topic string, rs []record) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	offsets := make([]int64, len(rs))
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		cl.Produce(ctx, toFranz(r, topic), func(kr *kgo.Record, err error) {
			offsets[i], errs[i] = kr.Offset, err
			wg.Done()
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	wg.Wait()
	return offsets, errors.Join(errs...)
}

func (franz) produce(bootstrap, topic, acks string) error {
	for _, codec := range codecs {
		opts := []kgo.Opt{kgo.ManualFlushing(), kgo.ProducerBatchCompression(franzCodec(codec)),
			kgo.RecordPartitioner(kgo.ManualPartitioner())}
		switch acks {
		case "0":
			opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
		case "1":
			opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		default: // acks=all, idempotent: franz-go's default
		}
		cl, err := franzClient(bootstrap, opts...)
		if err != nil {
			return err
		}
		offsets, err := franzProduceBatch(cl, topic, codecRecords(codec))
		cl.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", codec, err)
		}
		if acks == "0" {
			say("produced %s", codec) // no answer, so no offsets
		} else {
			say("produced %s %s", codec, joinInts(offsets))
		}
	}
	return nil
}

func (franz) read(bootstrap, topic string, count int) error {
	cl, err := franzClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	n := 0
	for n < count {
		fetches := cl.PollRecords(ctx, count-n)
		if err := fetches.Err(); err != nil {
			return fmt.Errorf("after %d records: %w", n, err)
		}
		fetches.EachRecord(func(kr *kgo.Record) {
			say("%s", fromFranz(kr))
			n++
		})
	}
	say("read %d", n)
	return nil
}

func franzCommitted(bootstrap, group string) (map[int32]int64, error) {
	cl, err := franzClient(bootstrap)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	offsets, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := offsets.Error(); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	offsets.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
	return out, nil
}

func (franz) group(bootstrap, topic, group string, partitions int, protocol string) error {
	groupOpts := []kgo.Opt{kgo.HeartbeatInterval(200 * time.Millisecond), kgo.SessionTimeout(6 * time.Second)}
	if protocol == "consumer" {
		// The broker's uniform assignor (StickyBalancer's name on KIP-848's
		// protocol); the heartbeat interval and session timeout are the broker's.
		groupOpts = []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.StickyBalancer())}
	}
	t := newGroupTracker()
	type member struct {
		cl   *kgo.Client
		stop context.CancelFunc
		done chan struct{}
	}
	members := map[int]*member{}
	producer, err := franzClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer producer.Close()
	var failure error
	var failureMu sync.Mutex
	g := groupMembers{
		produce: func(round int) error {
			var rs []record
			for p := int32(0); p < int32(partitions); p++ {
				for i := 0; i < 10; i++ {
					rs = append(rs, record{partition: p, key: []byte(groupKey(round, p, i)), value: []byte("v")})
				}
			}
			_, err := franzProduceBatch(producer, topic, rs)
			return err
		},
		start: func(m int) error {
			t.join(m)
			onGone := func(_ context.Context, _ *kgo.Client, lost map[string][]int32) { t.revoked(m, lost[topic]) }
			cl, err := franzClient(bootstrap, append([]kgo.Opt{
				kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
				kgo.BlockRebalanceOnPoll(), kgo.FetchMaxWait(200 * time.Millisecond),
				kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, got map[string][]int32) {
					t.assigned(m, got[topic])
				}),
				kgo.OnPartitionsRevoked(onGone), kgo.OnPartitionsLost(onGone)}, groupOpts...)...)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(context.Background())
			mb := &member{cl: cl, stop: cancel, done: make(chan struct{})}
			members[m] = mb
			go func() {
				defer close(mb.done)
				for ctx.Err() == nil {
					fetches := cl.PollRecords(ctx, 100)
					fetches.EachError(func(topic string, p int32, err error) {
						if !errors.Is(err, context.Canceled) {
							failureMu.Lock()
							failure = fmt.Errorf("member %d, %s-%d: %w", m, topic, p, err)
							failureMu.Unlock()
						}
					})
					fetches.EachRecord(func(kr *kgo.Record) { t.consumed(string(kr.Key)) })
					if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
						failureMu.Lock()
						failure = fmt.Errorf("member %d commit: %w", m, err)
						failureMu.Unlock()
					}
					cl.AllowRebalance()
				}
			}()
			return nil
		},
		stop: func(m int) error {
			mb := members[m]
			mb.stop()
			<-mb.done
			mb.cl.CloseAllowingRebalance() // leaves the group
			t.leave(m)
			failureMu.Lock()
			defer failureMu.Unlock()
			return failure
		},
		committed: func() (map[int32]int64, error) { return franzCommitted(bootstrap, group) },
	}
	err = runGroup(t, g, partitions)
	for m, mb := range members {
		select {
		case <-mb.done:
		default:
			_ = g.stop(m)
		}
	}
	return err
}

func (franz) commit(bootstrap, topic, group string, count int) error {
	cl, err := franzClient(bootstrap, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var got []*kgo.Record
	for len(got) < count {
		fetches := cl.PollRecords(ctx, count-len(got))
		if err := fetches.Err(); err != nil {
			cl.Close()
			return fmt.Errorf("after %d records: %w", len(got), err)
		}
		got = append(got, fetches.Records()...)
	}
	for _, kr := range got {
		say("%s", fromFranz(kr))
	}
	err = cl.CommitRecords(ctx, got...)
	cl.Close()
	if err != nil {
		return err
	}
	offsets, err := franzCommitted(bootstrap, group)
	if err != nil {
		return err
	}
	say("committed 0:%d", offsets[0])
	return nil
}

func (franz) times(bootstrap, topic, codec string, base int64) error {
	cl, err := franzClient(bootstrap, kgo.ManualFlushing(), kgo.ProducerBatchCompression(franzCodec(codec)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var rs []record
	// Compressible values: franz-go sends a batch that does not shrink uncompressed.
	for i := int64(0); i < 20; i++ {
		rs = append(rs, record{value: []byte(fmt.Sprintf("t%d-%s", i, strings.Repeat("x", 64))), timestamp: base + i*1000})
	}
	offsets, err := franzProduceBatch(cl, topic, rs)
	if err != nil {
		return err
	}
	say("produced %s", joinInts(offsets))
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	// ListOffsets as the client sends it (its newest version), answers as they come.
	for _, d := range timeQueries {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = 0
		rp.Timestamp = base + d
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		p := resp.Topics[0].Partitions[0]
		say("at +%d: %s", d, timeAnswer(p.ErrorCode, p.Offset, p.Timestamp, base))
	}
	// kadm's offsets by time (an end offset where no record is that late).
	adm := kadm.NewClient(cl)
	for _, d := range timeQueries {
		listed, err := adm.ListOffsetsAfterMilli(ctx, base+d, topic)
		if err != nil {
			return err
		}
		o, _ := listed.Lookup(topic, 0)
		say("kadm at +%d: %s", d, timeAnswer(franzCode(o.Err), o.Offset, o.Timestamp, base))
	}
	// A consumer reset to a time starts at the record Kafka finds.
	consumer, err := franzClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AfterMilli(base + 5000)}}))
	if err != nil {
		return err
	}
	defer consumer.Close()
	fetches := consumer.PollRecords(ctx, 1)
	if err := fetches.Err(); err != nil {
		return err
	}
	first := fetches.Records()[0]
	say("consume from +5000: offset %d timestamp +%d", first.Offset, first.Timestamp.UnixMilli()-base)
	return nil
}

// One ListOffsets answer: the offset and the timestamp after the base (or -1).
func timeAnswer(code int16, offset, timestamp, base int64) string {
	if code != 0 {
		return fmt.Sprintf("error %d", code)
	}
	if timestamp < 0 {
		return fmt.Sprintf("offset %d timestamp %d", offset, timestamp)
	}
	return fmt.Sprintf("offset %d timestamp +%d", offset, timestamp-base)
}

func ptr(s string) *string { return &s }

func (franz) admin(bootstrap, prefix string) error {
	cl, err := franzClient(bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	a, b := prefix+"-a", prefix+"-b"

	created, err := adm.CreateTopic(ctx, 3, 1,
		map[string]*string{"max.message.bytes": ptr("200000"), "retention.ms": ptr("3600000")}, a)
	if err != nil && franzCode(err) < 0 {
		return err
	}
	say("create %s: %d partitions %d", a, franzCode(created.Err), created.NumPartitions)
	created, err = adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}, b)
	if err != nil && franzCode(err) < 0 {
		return err
	}
	say("create %s: %d partitions %d", b, franzCode(created.Err), created.NumPartitions)
	created, err = adm.CreateTopic(ctx, 1, 1, nil, a)
	if err != nil && franzCode(err) < 0 {
		return err
	}
	say("create %s again: %d", a, franzCode(created.Err))

	// Listed by a new client each time: kadm answers from the client's
	// metadata cache for MetadataMinAge (5 s), which would hide changes.
	list := func() error {
		fresh, err := franzClient(bootstrap)
		if err != nil {
			return err
		}
		defer fresh.Close()
		topics, err := kadm.NewClient(fresh).ListTopics(ctx)
		if err != nil {
			return err
		}
		n := 0
		for _, td := range topics.Sorted() {
			if strings.HasPrefix(td.Topic, prefix+"-") {
				say("listed %s %d", td.Topic, len(td.Partitions))
				n++
			}
		}
		if n == 0 {
			say("listed none")
		}
		return nil
	}
	describe := func() error {
		configs, err := adm.DescribeTopicConfigs(ctx, a, b)
		if err != nil {
			return err
		}
		sort.Slice(configs, func(i, j int) bool { return configs[i].Name < configs[j].Name })
		for _, rc := range configs {
			if rc.Err != nil {
				say("config %s: %d", rc.Name, franzCode(rc.Err))
				continue
			}
			for _, want := range describedConfigs {
				for _, c := range rc.Configs {
					if c.Key == want {
						say("config %s %s=%s %s", rc.Name, c.Key, derefOr(c.Value),
							sourceName(int8(c.Source)))
					}
				}
			}
		}
		return nil
	}
	if err := list(); err != nil {
		return err
	}
	if err := describe(); err != nil {
		return err
	}

	for _, n := range []int{5, 2} {
		resp, err := adm.UpdatePartitions(ctx, n, a)
		if err != nil && franzCode(err) < 0 {
			return err
		}
		r := resp[a]
		say("partitions %s to %d: %d", a, n, franzCode(r.Err))
	}
	if err := list(); err != nil {
		return err
	}

	// IncrementalAlterConfigs on a, the older AlterConfigs (which replaces
	// every dynamic config of the topic) on b.
	inc, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: ptr("7200000")},
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: ptr("compact")},
		{Op: kadm.DeleteConfig, Name: "max.message.bytes"},
	}, a)
	if err != nil {
		return err
	}
	say("incremental alter %s: %d", a, franzCode(inc[0].Err))
	whole, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{
		{Name: "retention.ms", Value: ptr("1000000")}}, b)
	if err != nil {
		return err
	}
	say("alter %s: %d", b, franzCode(whole[0].Err))
	if err := describe(); err != nil {
		return err
	}

	deleted, err := adm.DeleteTopics(ctx, a, b)
	if err != nil {
		return err
	}
	for _, name := range []string{a, b} {
		say("delete %s: %d", name, franzCode(deleted[name].Err))
	}
	return list()
}

func (franz) create(bootstrap, topic string, partitions int) error {
	cl, err := franzClient(bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	created, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), -1, nil, topic)
	if err == nil {
		err = created.Err
	}
	return err
}

func derefOr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
