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
 *   GroupBench &lt;bootstrap&gt; &lt;topic prefix&gt; &lt;classic|consumer&gt; &lt;joins&gt; &lt;members&gt;...
 * </pre>
 *
 * For each group size N: a topic of N partitions that a producer keeps writing to (a record to
 * every partition every 50 ms); N - 1 members of a new group with this group.protocol, left to
 * settle; then one more joins, and the time runs until every member owns at least one partition,
 * every partition is owned by exactly one member, and every member has read a record of a
 * partition it owns since the join. That is repeated `joins` times in the same group: the newest
 * member leaves (closes), the N - 1 left settle again, and a new one joins, so each size gives
 * several figures (the heartbeat the others learn of the join from comes at a different moment
 * each time) for one group's start-up cost. The clients' and the broker's defaults throughout
 * (heartbeat intervals included), as an application would have them. Prints one line a join,
 * "protocol=P members=N join=J join_ms=T" (T empty when it took more than two minutes).
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
    int joins = Integer.parseInt(args[3]);
    for (int i = 4; i < args.length; ++i) {
      int size = Integer.parseInt(args[i]);
      measure(bootstrap, prefix + "-" + protocol + "-" + size, protocol, size, joins);
    }
  }

  static void report(String protocol, int size, int join, long nanos) {
    System.out.printf(
        "protocol=%s members=%d join=%d join_ms=%s%n",
        protocol, size, join, nanos < 0 ? "" : String.format("%.0f", nanos / 1e6));
    System.out.flush();
  }

  static void measure(String bootstrap, String topic, String protocol, int size, int joins)
      throws Exception {
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
    try {
      for (int m = 0; m < size - 1; ++m) members.add(start(props, topic));
      for (int join = 1; join <= joins; ++join) {
        if (!settled(members, size, 0)) {
          report(protocol, size, join, -1);
          return;
        }
        long joined = System.nanoTime();
        members.add(start(props, topic));
        boolean done = settled(members, size, joined);
        report(protocol, size, join, done ? System.nanoTime() - joined : -1);
        if (!done) return;
        if (join < joins) stop(members.remove(members.size() - 1));
      }
    } finally {
      for (Member m : members) m.consumer.wakeup();
      for (Member m : members) m.thread.join(TimeUnit.SECONDS.toMillis(30));
      producing.set(false);
      producer.join();
    }
  }

  static Member start(Properties props, String topic) {
    Member member = new Member(props, topic);
    member.thread.start();
    return member;
  }

  // Closes a member (it leaves the group) and waits for its thread.
  static void stop(Member member) throws InterruptedException {
    member.consumer.wakeup();
    member.thread.join(TimeUnit.SECONDS.toMillis(30));
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
