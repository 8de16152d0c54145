package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Sarama: its request versions follow config.Version (here Kafka 4.0), not
// the broker's ApiVersions, so it takes older paths than franz-go. It has no
// offsets-by-time consumer option: the consumer starts at the offset its
// admin client's ListOffsets found.
type saramaClient struct{}

var saramaVersion = sarama.V4_0_0_0

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = saramaVersion
	cfg.ClientID = "kb-go-lab"
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	return cfg
}

func saramaCodec(name string) sarama.CompressionCodec {
	switch name {
	case "gzip":
		return sarama.CompressionGZIP
	case "snappy":
		return sarama.CompressionSnappy
	case "lz4":
		return sarama.CompressionLZ4
	case "zstd":
		return sarama.CompressionZSTD
	}
	return sarama.CompressionNone
}

// Kafka's error code of err: 0 for nil, -1 when it is not a broker's error.
func saramaCode(err error) int16 {
	if err == nil {
		return 0
	}
	var te *sarama.TopicError
	var tpe *sarama.TopicPartitionError
	var dce *sarama.DescribeConfigError
	var ke sarama.KError
	switch {
	case errors.As(err, &te):
		return int16(te.Err)
	case errors.As(err, &tpe):
		return int16(tpe.Err)
	case errors.As(err, &dce):
		return int16(dce.Err)
	case errors.As(err, &ke):
		return int16(ke)
	}
	return -1
}

func toSarama(r record, topic string) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Topic: topic, Partition: r.partition}
	if r.key != nil {
		m.Key = sarama.ByteEncoder(r.key)
	}
	if r.value != nil {
		m.Value = sarama.ByteEncoder(r.value)
	}
	for _, h := range r.headers {
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
	}
	if r.timestamp != 0 {
		m.Timestamp = time.UnixMilli(r.timestamp)
	}
	return m
}

func fromSarama(m *sarama.ConsumerMessage) record {
	r := record{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value,
		timestamp: m.Timestamp.UnixMilli()}
	for _, h := range m.Headers {
		r.headers = append(r.headers, [2]string{string(h.Key), string(h.Value)})
	}
	return r
}

// A sync producer that sends `batch` records as one batch (flushed when that
// many are buffered), to the partition each record names.
func saramaProducer(bootstrap string, batch int, codec string, acks string) (sarama.SyncProducer, error) {
	cfg := saramaConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Compression = saramaCodec(codec)
	cfg.Producer.Flush.Messages = batch
	cfg.Producer.Flush.Frequency = time.Second
	switch acks {
	case "0":
		cfg.Producer.RequiredAcks = sarama.NoResponse
	case "1":
		cfg.Producer.RequiredAcks = sarama.WaitForLocal
	default:
		// Sarama is not idempotent by default; it is with acks=all here.
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	return sarama.NewSyncProducer([]string{bootstrap}, cfg)
}

func saramaSend(p sarama.SyncProducer, topic string, rs []record) ([]int64, error) {
	var msgs []*sarama.ProducerMessage
	for _, r := range rs {
		msgs = append(msgs, toSarama(r, topic))
	}
	if err := p.SendMessages(msgs); err != nil {
		return nil, err
	}
	offsets := make([]int64, len(msgs))
	for i, m := range msgs {
		offsets[i] = m.Offset
	}
	return offsets, nil
}

func (saramaClient) produce(bootstrap, topic, acks string) error {
	for _, codec := range codecs {
		rs := codecRecords(codec)
		p, err := saramaProducer(bootstrap, len(rs), codec, acks)
		if err != nil {
			return err
		}
		offsets, err := saramaSend(p, topic, rs)
		if cerr := p.Close(); err == nil {
			err = cerr
		}
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

func (saramaClient) read(bootstrap, topic string, count int) error {
	c, err := sarama.NewConsumer([]string{bootstrap}, saramaConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return err
	}
	defer pc.Close()
	timeout := time.After(deadline)
	for n := 0; n < count; n++ {
		select {
		case m := <-pc.Messages():
			say("%s", fromSarama(m))
		case err := <-pc.Errors():
			return fmt.Errorf("after %d records: %w", n, err)
		case <-timeout:
			return fmt.Errorf("read %d records of %d in time", n, count)
		}
	}
	say("read %d", count)
	return nil
}

func saramaCommitted(bootstrap, topic, group string) (map[int32]int64, error) {
	adm, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	resp, err := adm.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		return nil, err
	}
	if resp.Err != sarama.ErrNoError {
		return nil, resp.Err
	}
	out := map[int32]int64{}
	for p, block := range resp.Blocks[topic] {
		if block.Err != sarama.ErrNoError {
			return nil, block.Err
		}
		out[p] = block.Offset
	}
	return out, nil
}

// A group member's handler: what it owns comes with each session.
type saramaMember struct {
	t      *groupTracker
	id     int
	topic  string
	handle func(sess sarama.ConsumerGroupSession, m *sarama.ConsumerMessage)
}

func (h *saramaMember) Setup(sess sarama.ConsumerGroupSession) error {
	h.t.assigned(h.id, sess.Claims()[h.topic])
	return nil
}

func (h *saramaMember) Cleanup(sess sarama.ConsumerGroupSession) error {
	h.t.revoked(h.id, sess.Claims()[h.topic])
	return nil
}

func (h *saramaMember) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h.handle(sess, m)
		case <-sess.Context().Done():
			return nil
		}
	}
}

func saramaGroupConfig() *sarama.Config {
	cfg := saramaConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	return cfg
}

// Runs a consumer group member until ctx ends; errors go to report.
func runSaramaMember(ctx context.Context, g sarama.ConsumerGroup, topic string, h sarama.ConsumerGroupHandler,
	report func(error)) chan struct{} {
	done := make(chan struct{})
	go func() {
		for err := range g.Errors() {
			report(err)
		}
	}()
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				report(err)
				return
			}
		}
	}()
	return done
}

func (saramaClient) group(bootstrap, topic, group string, partitions int, protocol string) error {
	if protocol != "classic" {
		return errors.New("Sarama's groups speak the classic protocol only")
	}
	t := newGroupTracker()
	type member struct {
		g    sarama.ConsumerGroup
		stop context.CancelFunc
		done chan struct{}
	}
	members := map[int]*member{}
	producer, err := saramaProducer(bootstrap, 10*partitions, "none", "1")
	if err != nil {
		return err
	}
	defer producer.Close()
	var failure error
	var failureMu sync.Mutex
	report := func(err error) {
		failureMu.Lock()
		defer failureMu.Unlock()
		failure = err
	}
	g := groupMembers{
		produce: func(round int) error {
			var rs []record
			for p := int32(0); p < int32(partitions); p++ {
				for i := 0; i < 10; i++ {
					rs = append(rs, record{partition: p, key: []byte(groupKey(round, p, i)), value: []byte("v")})
				}
			}
			_, err := saramaSend(producer, topic, rs)
			return err
		},
		start: func(m int) error {
			t.join(m)
			cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, saramaGroupConfig())
			if err != nil {
				return err
			}
			h := &saramaMember{t: t, id: m, topic: topic,
				handle: func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
					t.consumed(string(msg.Key))
					sess.MarkMessage(msg, "")
				}}
			ctx, cancel := context.WithCancel(context.Background())
			members[m] = &member{g: cg, stop: cancel, done: runSaramaMember(ctx, cg, topic, h, report)}
			return nil
		},
		stop: func(m int) error {
			mb := members[m]
			mb.stop()
			<-mb.done
			err := mb.g.Close() // commits what was marked, leaves the group
			t.leave(m)
			failureMu.Lock()
			defer failureMu.Unlock()
			return errors.Join(err, failure)
		},
		committed: func() (map[int32]int64, error) { return saramaCommitted(bootstrap, topic, group) },
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

func (saramaClient) commit(bootstrap, topic, group string, count int) error {
	cfg := saramaGroupConfig()
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var got []*sarama.ConsumerMessage
	var mu sync.Mutex
	h := &saramaMember{t: newGroupTracker(), id: 0, topic: topic,
		handle: func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
			mu.Lock()
			defer mu.Unlock()
			if len(got) == count {
				return
			}
			got = append(got, msg)
			sess.MarkMessage(msg, "")
			if len(got) == count {
				sess.Commit()
				cancel()
			}
		}}
	h.t.join(0)
	var failure error
	done := runSaramaMember(ctx, cg, topic, h, func(err error) { failure = err })
	<-done
	closeErr := cg.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) < count {
		return fmt.Errorf("read %d records of %d in time (%v)", len(got), count, failure)
	}
	if closeErr != nil {
		return closeErr
	}
	for _, m := range got {
		say("%s", fromSarama(m))
	}
	offsets, err := saramaCommitted(bootstrap, topic, group)
	if err != nil {
		return err
	}
	say("committed 0:%d", offsets[0])
	return nil
}

func (saramaClient) times(bootstrap, topic, codec string, base int64) error {
	var rs []record
	// Compressible values, as franz.go sends (so each batch is compressed).
	for i := int64(0); i < 20; i++ {
		rs = append(rs, record{value: []byte(fmt.Sprintf("t%d-%s", i, strings.Repeat("x", 64))), timestamp: base + i*1000})
	}
	p, err := saramaProducer(bootstrap, len(rs), codec, "1")
	if err != nil {
		return err
	}
	offsets, err := saramaSend(p, topic, rs)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	say("produced %s", joinInts(offsets))

	adm, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return err
	}
	defer adm.Close()
	var at5000 int64 = -1
	for _, d := range timeQueries {
		res, err := adm.ListOffsets(map[string]map[int32]int64{topic: {0: base + d}}, nil)
		if err != nil {
			return err
		}
		r := res[topic][0]
		say("at +%d: %s", d, timeAnswer(saramaCode(r.Err), r.Offset, r.Timestamp, base))
		if d == 5000 {
			at5000 = r.Offset
		}
	}
	// The client's own offsets-by-time call.
	client, err := sarama.NewClient([]string{bootstrap}, saramaConfig())
	if err != nil {
		return err
	}
	defer client.Close()
	for _, d := range timeQueries {
		o, err := client.GetOffset(topic, 0, base+d)
		if err != nil {
			say("client at +%d: error %d", d, saramaCode(err))
			continue
		}
		say("client at +%d: offset %d", d, o)
	}
	c, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, at5000)
	if err != nil {
		return err
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		say("consume from +5000: offset %d timestamp +%d", m.Offset, m.Timestamp.UnixMilli()-base)
	case err := <-pc.Errors():
		return err
	case <-time.After(deadline):
		return errors.New("no record from +5000 in time")
	}
	return nil
}

func (saramaClient) create(bootstrap, topic string, partitions int) error {
	adm, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return err
	}
	defer adm.Close()
	return adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: -1}, false)
}

func (saramaClient) admin(bootstrap, prefix string) error {
	adm, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return err
	}
	defer adm.Close()
	a, b := prefix+"-a", prefix+"-b"
	create := func(name string, partitions int32, rf int16, configs map[string]*string) int16 {
		err := adm.CreateTopic(name, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: rf,
			ConfigEntries: configs}, false)
		return saramaCode(err)
	}
	say("create %s: %d", a, create(a, 3, 1, map[string]*string{"max.message.bytes": ptr("200000"),
		"retention.ms": ptr("3600000")}))
	say("create %s: %d", b, create(b, 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}))
	say("create %s again: %d", a, create(a, 1, 1, nil))

	list := func() error {
		topics, err := adm.ListTopics()
		if err != nil {
			return err
		}
		var names []string
		for name := range topics {
			if strings.HasPrefix(name, prefix+"-") {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			say("listed %s %d", name, topics[name].NumPartitions)
		}
		if len(names) == 0 {
			say("listed none")
		}
		return nil
	}
	describe := func() error {
		for _, name := range []string{a, b} {
			entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: name})
			if err != nil {
				say("config %s: %d", name, saramaCode(err))
				continue
			}
			for _, want := range describedConfigs {
				for _, e := range entries {
					if e.Name == want {
						say("config %s %s=%s %s", name, e.Name, e.Value, sourceName(int8(e.Source)))
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
	for _, n := range []int32{5, 2} {
		say("partitions %s to %d: %d", a, n, saramaCode(adm.CreatePartitions(a, n, nil, false)))
	}
	if err := list(); err != nil {
		return err
	}
	err = adm.IncrementalAlterConfig(sarama.TopicResource, a, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms":      {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: ptr("7200000")},
		"cleanup.policy":    {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: ptr("compact")},
		"max.message.bytes": {Operation: sarama.IncrementalAlterConfigsOperationDelete},
	}, false)
	say("incremental alter %s: %d", a, saramaCode(err))
	err = adm.AlterConfig(sarama.TopicResource, b, map[string]*string{"retention.ms": ptr("1000000")}, false)
	say("alter %s: %d", b, saramaCode(err))
	if err := describe(); err != nil {
		return err
	}
	for _, name := range []string{a, b} {
		say("delete %s: %d", name, saramaCode(adm.DeleteTopic(name)))
	}
	return list()
}
