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
	"github.com/twmb/franz-go/pkg/kgo"
)

// The transact scenario: consume-transform-produce with exactly-once. The
// inputs "in-<i>" (key "k<i>") go to partition i%3 of the input topic; each
// round reads some of them, writes "out-in-<i>" to the output topic and
// commits the read offsets for the group in the same transaction. Every fourth
// round aborts instead, after its outputs reached the log: the group's offsets
// stay where they were, so the same inputs come back in a later round.
const transactPartitions = 3

func transactInputs(count int) []record {
	rs := make([]record, count)
	for i := range rs {
		rs[i] = record{partition: int32(i % transactPartitions), key: []byte(fmt.Sprintf("k%d", i)),
			value: []byte(fmt.Sprintf("in-%d", i))}
	}
	return rs
}

func abortsRound(round int) bool { return round%4 == 1 }

// Prints what a Kafka broker makes the scenario see: read_committed holds
// every input's output once, read_uncommitted the aborted outputs as well,
// and the group's offsets are at each input partition's end.
func reportTransact(count, aborted int, committed, uncommitted []string, offsets map[int32]int64) {
	seen := map[string]int{}
	for _, v := range committed {
		seen[v]++
	}
	var wrong []string
	for i := 0; i < count; i++ {
		if n := seen[fmt.Sprintf("out-in-%d", i)]; n != 1 {
			wrong = append(wrong, fmt.Sprintf("in-%d x%d", i, n))
		}
	}
	if len(wrong) == 0 && len(committed) == count {
		say("read_committed: %d outputs, each input once", len(committed))
	} else {
		say("read_committed: %d outputs, wrong: %s", len(committed), strings.Join(wrong, " "))
	}
	say("aborted a round: %v", aborted > 0)
	say("read_uncommitted: the committed and the aborted outputs: %v", len(uncommitted) == count+aborted)
	var ends []int64
	for p := int32(0); p < transactPartitions; p++ {
		ends = append(ends, offsets[p])
	}
	say("group offsets %s", joinInts(ends))
}

func (franz) transact(bootstrap, in, out, group string, count int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*deadline)
	defer cancel()
	seed, err := franzClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	_, err = franzProduceBatch(seed, in, transactInputs(count))
	seed.Close()
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}

	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(bootstrap),
		kgo.TransactionalID(group+"-txn"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(out))
	if err != nil {
		return err
	}
	defer sess.Close()
	done, aborted := 0, 0
	for round := 0; done < count; round++ {
		fetches := sess.PollRecords(ctx, 40)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("after %d inputs: %w", done, err)
		}
		if err := fetches.Err(); err != nil {
			return err
		}
		inputs := fetches.Records()
		if len(inputs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return err
		}
		var mu sync.Mutex
		var produceErr error
		for _, r := range inputs {
			sess.Produce(ctx, &kgo.Record{Key: r.Key, Value: append([]byte("out-"), r.Value...)},
				func(_ *kgo.Record, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil && produceErr == nil {
						produceErr = err
					}
				})
		}
		abort := abortsRound(round)
		if abort {
			// On the log, so read_uncommitted sees them.
			if err := sess.Client().Flush(ctx); err != nil {
				return err
			}
		}
		committed, err := sess.End(ctx, kgo.TransactionEndTry(!abort))
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		if produceErr != nil {
			return fmt.Errorf("round %d: %w", round, produceErr)
		}
		if committed {
			done += len(inputs)
		} else {
			aborted += len(inputs) // the session rewinds to the committed offsets
		}
	}
	sess.Close()

	committedOut, err := franzReadAll(ctx, bootstrap, out, true, count)
	if err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	uncommittedOut, err := franzReadAll(ctx, bootstrap, out, false, count+aborted)
	if err != nil {
		return fmt.Errorf("read_uncommitted: %w", err)
	}
	offsets, err := franzCommitted(bootstrap, group)
	if err != nil {
		return err
	}
	reportTransact(count, aborted, committedOut, uncommittedOut, offsets)
	return nil
}

// The values of every partition of topic from the start: at least want of
// them, then whatever else comes within a second.
func franzReadAll(ctx context.Context, bootstrap, topic string, committed bool, want int) ([]string, error) {
	isolation := kgo.ReadUncommitted()
	if committed {
		isolation = kgo.ReadCommitted()
	}
	cl, err := franzClient(bootstrap, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(isolation),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var values []string
	collect := func(kr *kgo.Record) { values = append(values, string(kr.Value)) }
	for len(values) < want {
		fetches := cl.PollFetches(ctx)
		if err := fetches.Err(); err != nil {
			return values, fmt.Errorf("after %d records: %w", len(values), err)
		}
		fetches.EachRecord(collect)
	}
	grace, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	fetches := cl.PollFetches(grace)
	if err := fetches.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return values, err
	}
	fetches.EachRecord(collect)
	return values, nil
}

// Sarama has no group session for transactions: its transactional producer
// adds the offsets of what a partition consumer read (AddOffsetsToTxn), and
// each round starts from the group's committed offsets as the broker answers
// them, one input partition a round.
func (saramaClient) transact(bootstrap, in, out, group string, count int) error {
	seed, err := saramaProducer(bootstrap, count, "none", "all")
	if err != nil {
		return err
	}
	_, err = saramaSend(seed, in, transactInputs(count))
	if cerr := seed.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}

	cfg := saramaConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = group + "-txn"
	cfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		return err
	}
	defer producer.Close()
	consumerCfg := saramaConfig()
	consumerCfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer([]string{bootstrap}, consumerCfg)
	if err != nil {
		return err
	}
	defer consumer.Close()

	timeout := time.After(3 * deadline)
	done, aborted := 0, 0
	for round := 0; done < count; round++ {
		select {
		case <-timeout:
			return fmt.Errorf("after %d inputs: out of time", done)
		default:
		}
		committed, err := saramaCommitted(bootstrap, in, group)
		if err != nil {
			return err
		}
		partition := int32(round % transactPartitions)
		from, ok := committed[partition]
		if !ok || from < 0 {
			from = sarama.OffsetOldest
		}
		inputs, err := saramaReadSome(consumer, in, partition, from, 20)
		if err != nil {
			return err
		}
		if len(inputs) == 0 {
			continue
		}
		if err := producer.BeginTxn(); err != nil {
			return err
		}
		var outputs []*sarama.ProducerMessage
		for _, m := range inputs {
			outputs = append(outputs, &sarama.ProducerMessage{Topic: out,
				Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(append([]byte("out-"), m.Value...))})
		}
		if err := producer.SendMessages(outputs); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		next := inputs[len(inputs)-1].Offset + 1
		offsets := map[string][]*sarama.PartitionOffsetMetadata{in: {{Partition: partition, Offset: next}}}
		if err := producer.AddOffsetsToTxn(offsets, group); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		if abortsRound(round) {
			if err := producer.AbortTxn(); err != nil {
				return err
			}
			aborted += len(inputs)
		} else {
			if err := producer.CommitTxn(); err != nil {
				return err
			}
			done += len(inputs)
		}
	}

	committedOut, err := saramaReadAll(bootstrap, out, sarama.ReadCommitted, count)
	if err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	uncommittedOut, err := saramaReadAll(bootstrap, out, sarama.ReadUncommitted, count+aborted)
	if err != nil {
		return fmt.Errorf("read_uncommitted: %w", err)
	}
	offsets, err := saramaCommitted(bootstrap, in, group)
	if err != nil {
		return err
	}
	reportTransact(count, aborted, committedOut, uncommittedOut, offsets)
	return nil
}

// Up to max messages of one partition from an offset: what arrives before
// the partition is quiet for half a second.
func saramaReadSome(c sarama.Consumer, topic string, partition int32, from int64, max int) ([]*sarama.ConsumerMessage, error) {
	pc, err := c.ConsumePartition(topic, partition, from)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for len(out) < max {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			return nil, err
		case <-time.After(500 * time.Millisecond):
			return out, nil
		}
	}
	return out, nil
}

// The values of every partition of topic from the start with this isolation:
// at least want of them, then whatever else comes within a second.
func saramaReadAll(bootstrap, topic string, isolation sarama.IsolationLevel, want int) ([]string, error) {
	cfg := saramaConfig()
	cfg.Consumer.IsolationLevel = isolation
	c, err := sarama.NewConsumer([]string{bootstrap}, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	partitions, err := c.Partitions(topic)
	if err != nil {
		return nil, err
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	messages := make(chan *sarama.ConsumerMessage)
	errs := make(chan error, len(partitions))
	stop := make(chan struct{})
	var pcs []sarama.PartitionConsumer
	defer func() {
		close(stop) // the forwarders first: none is left blocked on a message
		for _, pc := range pcs {
			pc.Close()
		}
	}()
	for _, p := range partitions {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		pcs = append(pcs, pc)
		go func() {
			for {
				select {
				case m := <-pc.Messages():
					select {
					case messages <- m:
					case <-stop:
						return
					}
				case err := <-pc.Errors():
					errs <- err
					return
				case <-stop:
					return
				}
			}
		}()
	}
	var values []string
	timeout := time.After(deadline)
	var grace <-chan time.Time
	for {
		if len(values) >= want && grace == nil {
			grace = time.After(time.Second)
		}
		select {
		case m := <-messages:
			values = append(values, string(m.Value))
		case err := <-errs:
			return values, err
		case <-grace:
			return values, nil
		case <-timeout:
			return values, fmt.Errorf("read %d of %d in time", len(values), want)
		}
	}
}
