package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Three members of a group (the classic protocol, the client's default assignors: range first)
 * share a topic of six partitions, each in its own thread; one leaves, the other two take its
 * partitions over. Printed for the test: who owns what once the group settles (the members'
 * client ids order them, so the range assignor's answer is known), how many distinct records were
 * read, the offsets committed at the end, and any partition handed to one member while another
 * still owned it.
 */
final class GroupOfThree {
  private static final int PARTITIONS = 6;
  private static final int PER_PARTITION = 10;
  private static final long DEADLINE_MS = 30_000;

  private final String bootstrap;
  private final String topic;
  private final String groupId;
  // Guarded by this: each member's partitions, the keys read, the overlaps seen.
  private final Map<String, Set<Integer>> owned = new TreeMap<>();
  private final Set<String> seen = new HashSet<>();
  private final List<String> overlaps = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();

  private GroupOfThree(String bootstrap, String topic, String groupId) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.groupId = groupId;
  }

  static void run(String bootstrap, String topic, String groupId) throws Exception {
    new GroupOfThree(bootstrap, topic, groupId).run();
  }

  private void run() throws Exception {
    produceRound(0);
    Member[] members = {new Member("a"), new Member("b"), new Member("c")};
    for (Member m : members) m.start();
    System.out.println("owners " + waitOwned());
    System.out.println("read " + waitSeen(PARTITIONS * PER_PARTITION));
    members[2].finish();
    System.out.println("owners " + waitOwned());
    produceRound(1);
    System.out.println("read " + waitSeen(2 * PARTITIONS * PER_PARTITION));
    members[0].finish();
    members[1].finish();
    System.out.println("committed " + committed());
    synchronized (this) {
      System.out.println("overlaps " + overlaps.size());
      for (String o : overlaps) System.out.println("  " + o);
      for (String f : failures) System.out.println("failed " + f);
    }
  }

  // Ten records to each partition, keyed by round, partition and index.
  private void produceRound(int round) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      for (int p = 0; p < PARTITIONS; ++p) {
        for (int i = 0; i < PER_PARTITION; ++i)
          producer.send(new ProducerRecord<>(topic, p, "r" + round + "-p" + p + "-" + i, "v"));
      }
      producer.flush();
    }
  }

  // The group's committed offsets, by partition.
  private String committed() throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get();
      StringBuilder line = new StringBuilder();
      for (int p = 0; p < PARTITIONS; ++p) {
        OffsetAndMetadata o = offsets.get(new TopicPartition(topic, p));
        line.append(p == 0 ? "" : " ").append(p).append(':').append(o == null ? "none" : o.offset());
      }
      return line.toString();
    }
  }

  // Waits until every member owns a partition, each partition is owned by exactly one member, and
  // nothing changed for 300 ms (a member may be about to revoke); answers "a=0,1 b=2,3 ...".
  private String waitOwned() throws InterruptedException {
    long end = System.currentTimeMillis() + DEADLINE_MS;
    String settled = "";
    long since = 0;
    while (true) {
      String state;
      boolean ok = true;
      synchronized (this) {
        Map<Integer, Integer> owners = new HashMap<>();
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, Set<Integer>> e : owned.entrySet()) {
          ok = ok && !e.getValue().isEmpty();
          for (int p : e.getValue()) owners.merge(p, 1, Integer::sum);
          if (s.length() > 0) s.append(' ');
          s.append(e.getKey()).append('=');
          StringBuilder parts = new StringBuilder();
          for (int p : new TreeSet<>(e.getValue())) parts.append(parts.length() > 0 ? "," : "").append(p);
          s.append(parts);
        }
        for (int p = 0; p < PARTITIONS; ++p) ok = ok && owners.getOrDefault(p, 0) == 1;
        state = s.toString();
        if (!failures.isEmpty()) return state + " (failed)";
      }
      long now = System.currentTimeMillis();
      if (!ok || !state.equals(settled)) {
        settled = state;
        since = now;
      } else if (now - since > 300) {
        return state;
      }
      if (now > end) return state + " (not owned once each in time)";
      Thread.sleep(20);
    }
  }

  private int waitSeen(int count) throws InterruptedException {
    long end = System.currentTimeMillis() + DEADLINE_MS;
    while (true) {
      synchronized (this) {
        if (seen.size() >= count || !failures.isEmpty() || System.currentTimeMillis() > end)
          return seen.size();
      }
      Thread.sleep(20);
    }
  }

  private synchronized void assigned(String member, Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      for (Map.Entry<String, Set<Integer>> e : owned.entrySet()) {
        if (!e.getKey().equals(member) && e.getValue().contains(tp.partition()))
          overlaps.add(
              "partition " + tp.partition() + " given to " + member + " while " + e.getKey()
                  + " owns it");
      }
      owned.get(member).add(tp.partition());
    }
  }

  private synchronized void revoked(String member, Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) owned.get(member).remove(tp.partition());
  }

  /** One member: its own consumer, polled by its own thread, committing what it read. */
  private final class Member implements ConsumerRebalanceListener {
    private final String name;
    private final Thread thread;
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    private volatile boolean stopping;
    private KafkaConsumer<String, String> consumer;

    Member(String name) {
      this.name = name;
      this.thread = new Thread(this::poll, "member-" + name);
      synchronized (GroupOfThree.this) {
        owned.put(name, new HashSet<>());
      }
    }

    void start() {
      thread.start();
    }

    // Commits, closes (the consumer leaves the group), and is forgotten.
    void finish() throws InterruptedException {
      stopping = true;
      thread.join();
      synchronized (GroupOfThree.this) {
        owned.remove(name);
      }
    }

    private void poll() {
      Properties props = ClientCheck.consumerProps(bootstrap);
      props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, "member-" + name);
      // Members learn of a rebalance at their next heartbeat: keep that short.
      props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "200");
      try {
        consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
        consumer.subscribe(Collections.singletonList(topic), this);
        while (!stopping) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
            synchronized (GroupOfThree.this) {
              seen.add(r.key());
            }
            pending.put(
                new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          }
          commit();
        }
        commit();
        consumer.close();
      } catch (RuntimeException e) {
        synchronized (GroupOfThree.this) {
          failures.add(name + ": " + e);
        }
        if (consumer != null) consumer.close();
      }
    }

    // A commit a rebalance refused is left: the next owner reads those records again.
    private void commit() {
      if (pending.isEmpty()) return;
      try {
        consumer.commitSync(pending);
      } catch (KafkaException e) {
        System.err.println("member " + name + ": commit refused: " + e);
      }
      pending.clear();
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      commit();
      revoked(name, partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assigned(name, partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      pending.clear();
      revoked(name, partitions);
    }
  }
}
