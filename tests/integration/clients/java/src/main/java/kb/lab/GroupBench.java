package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
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
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How long a consumer group takes to take in one more member, for bench/run_kafka_side_by_side.sh.
 *
 * <pre>
 *   GroupBench &lt;bootstrap&gt; &lt;topic prefix&gt; &lt;classic|consumer&gt; &lt;members&gt;...
 * </pre>
 *
 * For each group size N: a topic of N partitions that a producer keeps writing to (a record to
 * every partition every 50 ms); N - 1 members of a new group with this group.protocol, left to
 * settle; then one more joins, and the time runs until every member owns at least one partition,
 * every partition is owned by exactly one member, and every member has read a record of a
 * partition it owns since the join. The clients' and the broker's defaults throughout (heartbeat
 * intervals included), as an application would have them. Prints one line a size,
 * "protocol=P members=N join_ms=T" (T empty when it took more than two minutes).
 */
public final class GroupBench {
  private GroupBench() {}

  private static final long LIMIT_NANOS = TimeUnit.SECONDS.toNanos(120);

  /** One member: its consumer on a thread of its own, what it owns and when it last read. */
  static final class Member implements Runnable {
    final KafkaConsumer<byte[], byte[]> consumer;
    final String topic;
    final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
    final AtomicLong readOwnedAt = new AtomicLong(0);  // System.nanoTime() of the last such read
    final AtomicBoolean failed = new AtomicBoolean(false);
    final Thread thread = new Thread(this);

    Member(Properties props, String topic) {
      this.consumer =
          new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      this.topic = topic;
    }

    @Override
    public void run() {
      try {
        consumer.subscribe(
            List.of(topic),
            new ConsumerRebalanceListener() {
              @Override
              public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                owned.removeAll(partitions);
              }

              @Override
              public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                owned.addAll(partitions);
              }

              @Override
              public void onPartitionsLost(Collection<TopicPartition> partitions) {
                owned.removeAll(partitions);
              }
            });
        while (true) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100)))
            if (owned.contains(new TopicPartition(r.topic(), r.partition())))
              readOwnedAt.set(System.nanoTime());
        }
      } catch (WakeupException stopping) {
        // close() below
      } catch (RuntimeException e) {
        failed.set(true);
        System.err.println("member failed: " + e);
      } finally {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(10)));
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String prefix = args[1];
    String protocol = args[2];
    for (int i = 3; i < args.length; ++i) {
      int size = Integer.parseInt(args[i]);
      long joinNanos = measure(bootstrap, prefix + "-" + protocol + "-" + size, protocol, size);
      System.out.printf(
          "protocol=%s members=%d join_ms=%s%n",
          protocol, size, joinNanos < 0 ? "" : String.format("%.0f", joinNanos / 1e6));
    }
  }

  static long measure(String bootstrap, String topic, String protocol, int size) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, size, (short) 1))).all().get(60, TimeUnit.SECONDS);
    }
    AtomicBoolean producing = new AtomicBoolean(true);
    Thread producer = new Thread(() -> produce(bootstrap, topic, size, producing));
    producer.start();

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, topic + "-group");
    props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    List<Member> members = new ArrayList<>();
    long result = -1;
    try {
      for (int m = 0; m < size - 1; ++m) members.add(start(props, topic));
      if (settled(members, size, 0)) {
        long joined = System.nanoTime();
        members.add(start(props, topic));
        if (settled(members, size, joined)) result = System.nanoTime() - joined;
      }
    } finally {
      for (Member m : members) m.consumer.wakeup();
      for (Member m : members) m.thread.join(TimeUnit.SECONDS.toMillis(30));
      producing.set(false);
      producer.join();
    }
    return result;
  }

  static Member start(Properties props, String topic) {
    Member member = new Member(props, topic);
    member.thread.start();
    return member;
  }

  // Waits (two minutes at most) until the members own every partition once, each at least one,
  // and each has read a record of its own since `since` (System.nanoTime(); 0: any time).
  static boolean settled(List<Member> members, int partitions, long since)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIMIT_NANOS;
    while (System.nanoTime() < deadline) {
      Set<TopicPartition> all = new HashSet<>();
      int owned = 0;
      boolean each = true;
      for (Member m : members) {
        if (m.failed.get()) return false;
        Set<TopicPartition> mine = new HashSet<>(m.owned);
        owned += mine.size();
        all.addAll(mine);
        if (mine.isEmpty() || m.readOwnedAt.get() <= since) each = false;
      }
      if (each && owned == partitions && all.size() == partitions) return true;
      Thread.sleep(5);
    }
    return false;
  }

  static void produce(String bootstrap, String topic, int partitions, AtomicBoolean producing) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "1");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      byte[] value = new byte[16];
      while (producing.get()) {
        for (int p = 0; p < partitions; ++p) producer.send(new ProducerRecord<>(topic, p, null, value));
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }
}
