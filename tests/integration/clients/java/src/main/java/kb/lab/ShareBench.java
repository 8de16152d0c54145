package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Share-group consumption, for bench/run_kafka_side_by_side.sh.
 *
 * <pre>
 *   ShareBench &lt;bootstrap&gt; &lt;topic prefix&gt; &lt;records&gt; &lt;record size&gt; &lt;consumers&gt;...
 * </pre>
 *
 * For each consumer count N: a topic of one partition, a new share group and N
 * KafkaShareConsumers of it, each on a thread of its own, with every default (implicit
 * acknowledgement: a poll accepts what the previous one returned; share.auto.offset.reset
 * latest, so the group needs no config of its own). Probe records (a value starting with 0) go
 * to the partition every 100 ms until a consumer receives one: the share-partition is then
 * initialized and every later record is the group's. Then `records` records (a value starting
 * with 1) are written as fast as the producer can, and the time runs from the first of them any
 * consumer receives until every one of them has been received at least once; records/s is the
 * records over that time. Prints one line a count, "consumers=N records=R records_per_sec=X
 * redelivered=D" (X empty when it took more than two minutes or failed, with "error=E" then; D
 * the deliveries of a record beyond its first).
 */
public final class ShareBench {
  private ShareBench() {}

  private static final long LIMIT_NANOS = TimeUnit.SECONDS.toNanos(120);

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String prefix = args[1];
    int records = Integer.parseInt(args[2]);
    int size = Integer.parseInt(args[3]);
    for (int i = 4; i < args.length; ++i) {
      int consumers = Integer.parseInt(args[i]);
      try {
        measure(bootstrap, prefix + "-" + consumers, records, size, consumers);
      } catch (Exception e) {
        // A server without share groups (or without group configs) gives no figure, not a
        // failed run: the other counts and the other server still do.
        System.out.printf(
            "consumers=%d records=%d records_per_sec= redelivered= error=%s%n",
            consumers,
            records,
            (e.getCause() != null ? e.getCause() : e).toString().replaceAll("\\s+", "_"));
        System.out.flush();
      }
    }
  }

  static void measure(String bootstrap, String topic, int records, int size, int consumers)
      throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
    }
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    AtomicLong redelivered = new AtomicLong();
    AtomicBoolean probed = new AtomicBoolean(false);
    AtomicLong first = new AtomicLong(0);
    AtomicLong last = new AtomicLong(0);
    AtomicBoolean failed = new AtomicBoolean(false);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, topic + "-group");
    List<KafkaShareConsumer<byte[], byte[]>> clients = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < consumers; ++c) {
      KafkaShareConsumer<byte[], byte[]> consumer =
          new KafkaShareConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      clients.add(consumer);
      Thread thread =
          new Thread(
              () -> {
                try {
                  consumer.subscribe(List.of(topic));
                  while (true) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                      if (r.value() == null || r.value().length == 0 || r.value()[0] == 0) {
                        probed.set(true);
                        continue;
                      }
                      long now = System.nanoTime();
                      first.compareAndSet(0, now);
                      if (seen.add(r.offset())) {
                        if (seen.size() == records) last.compareAndSet(0, now);
                      } else {
                        redelivered.incrementAndGet();
                      }
                    }
                  }
                } catch (WakeupException stopping) {
                  // close() below
                } catch (RuntimeException e) {
                  failed.set(true);
                  System.err.println("share consumer failed: " + e);
                } finally {
                  consumer.close(Duration.ofSeconds(10));
                }
              });
      threads.add(thread);
    }
    for (Thread t : threads) t.start();
    long deadline = System.nanoTime() + LIMIT_NANOS;
    String error = null;
    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    producerProps.put(ProducerConfig.ACKS_CONFIG, "1");
    producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer())) {
      byte[] probe = new byte[size];
      while (!probed.get() && !failed.get() && System.nanoTime() < deadline) {
        producer.send(new ProducerRecord<>(topic, 0, null, probe)).get(30, TimeUnit.SECONDS);
        Thread.sleep(100);
      }
      if (probed.get()) {
        byte[] value = new byte[size];
        value[0] = 1;
        for (int i = 0; i < records; ++i) producer.send(new ProducerRecord<>(topic, 0, null, value));
        producer.flush();
        while (last.get() == 0 && !failed.get() && System.nanoTime() < deadline) Thread.sleep(5);
      } else {
        error = failed.get() ? "consumer-failed" : "no-probe-received";
      }
    } finally {
      for (KafkaShareConsumer<byte[], byte[]> c : clients) c.wakeup();
      for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(30));
    }
    long end = last.get();
    String rate = end == 0 ? "" : String.format("%.0f", records / ((end - first.get()) / 1e9));
    System.out.printf(
        "consumers=%d records=%d records_per_sec=%s redelivered=%d%s%n",
        consumers,
        records,
        rate,
        redelivered.get(),
        error == null ? (end == 0 ? " error=timeout" : "") : " error=" + error);
    System.out.flush();
  }
}
