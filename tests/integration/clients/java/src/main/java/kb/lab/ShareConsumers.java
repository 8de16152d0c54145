package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Share groups (KIP-932) with kafka-clients 4.x's KafkaShareConsumer, acknowledging explicitly.
 * Every scenario first has the group start consuming: the group starts at the latest offset, so
 * "warm-up" records are sent until one arrives, and only records sent after that count. What the
 * consumers saw is printed one fact a line for the test:
 *
 * <pre>
 *   three &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt;   three consumers on one partition take n records
 *   acks &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;       RELEASE, REJECT and a lock left to expire
 *   release-twice &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;  one record delivered and released twice
 *   take &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; &lt;value&gt;   a consumer waits for the record, accepts it
 * </pre>
 */
public final class ShareConsumers {
  private static final Duration POLL = Duration.ofMillis(100);
  private static final long DEADLINE_MS = 30_000;

  private ShareConsumers() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "three":
        three(args[1], args[2], args[3], Integer.parseInt(args[4]));
        break;
      case "acks":
        acks(args[1], args[2], args[3]);
        break;
      case "release-twice":
        releaseTwice(args[1], args[2], args[3]);
        break;
      case "take":
        take(args[1], args[2], args[3], args[4]);
        break;
      default:
        throw new IllegalArgumentException("unknown scenario " + args[0]);
    }
  }

  private static KafkaShareConsumer<String, String> consumer(
      String bootstrap, String topic, String group, String clientId, int maxPollRecords) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(maxPollRecords));
    KafkaShareConsumer<String, String> c =
        new KafkaShareConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    c.subscribe(List.of(topic));
    return c;
  }

  private static KafkaProducer<String, String> producer(String bootstrap) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
  }

  // Each record its own batch, so acquisitions may split between consumers.
  private static void send(KafkaProducer<String, String> p, String topic, String value)
      throws Exception {
    p.send(new ProducerRecord<>(topic, 0, null, value)).get();
  }

  private static void check(boolean ok, String what) {
    if (!ok) throw new IllegalStateException(what);
  }

  private static short deliveries(ConsumerRecord<String, String> r) {
    return r.deliveryCount().orElse((short) -1);
  }

  // Sends warm-up records until the consumer gets one (the group's state is
  // then initialized and the consumer assigned); accepts what it got.
  private static void warmUp(
      KafkaShareConsumer<String, String> c, KafkaProducer<String, String> p, String topic)
      throws Exception {
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    for (int i = 0; ; ++i) {
      check(System.currentTimeMillis() < deadline, "no warm-up record arrived");
      send(p, topic, "warm-up-" + i);
      boolean got = false;
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
        c.acknowledge(r, AcknowledgeType.ACCEPT);
        got = true;
      }
      if (got) {
        c.commitSync();
        return;
      }
    }
  }

  // Polls until `value` arrives; everything else is accepted.
  private static ConsumerRecord<String, String> await(
      KafkaShareConsumer<String, String> c, String value) {
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (System.currentTimeMillis() < deadline) {
      ConsumerRecord<String, String> found = null;
      for (ConsumerRecord<String, String> r : c.poll(POLL)) {
        if (r.value().equals(value)) {
          found = r;
        } else {
          c.acknowledge(r, AcknowledgeType.ACCEPT);
        }
      }
      if (found != null) return found;
      c.commitSync();
    }
    throw new IllegalStateException(value + " never arrived");
  }

  /** Three consumers, each in its own thread, on a topic of one partition. */
  private static void three(String bootstrap, String topic, String group, int n) throws Exception {
    Map<String, List<String>> byConsumer = new HashMap<>();
    Map<String, Integer> timesSeen = new HashMap<>();
    List<String> failures = new ArrayList<>();
    Set<String> wanted = new HashSet<>();
    for (int i = 0; i < n; ++i) wanted.add("record-" + i);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean warm = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    Object lock = new Object();
    for (String name : List.of("a", "b", "c")) {
      synchronized (lock) {
        byConsumer.put(name, new ArrayList<>());
      }
      Thread t =
          new Thread(
              () -> {
                try (KafkaShareConsumer<String, String> c =
                    consumer(bootstrap, topic, group, "share-" + name, 5)) {
                  while (!stop.get()) {
                    var records = c.poll(POLL);
                    for (ConsumerRecord<String, String> r : records) {
                      synchronized (lock) {
                        if (r.value().startsWith("warm-up")) {
                          warm.set(true);
                        } else {
                          byConsumer.get(name).add(r.value());
                          timesSeen.merge(r.value(), 1, Integer::sum);
                          if (deliveries(r) != 1)
                            failures.add(r.value() + " delivery " + deliveries(r));
                        }
                      }
                      c.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                    if (!records.isEmpty()) {
                      c.commitSync();
                      // Slow consumers: the others take what arrives meanwhile.
                      Thread.sleep(50);
                    }
                  }
                } catch (Exception e) {
                  synchronized (lock) {
                    failures.add(name + ": " + e);
                  }
                }
              });
      t.start();
      threads.add(t);
    }
    try (KafkaProducer<String, String> p = producer(bootstrap)) {
      long deadline = System.currentTimeMillis() + DEADLINE_MS;
      for (int i = 0; !warm.get(); ++i) {
        check(System.currentTimeMillis() < deadline, "no warm-up record arrived");
        send(p, topic, "warm-up-" + i);
        Thread.sleep(200);
      }
      // Everyone has heartbeated by now; the partition is assigned to all three.
      Thread.sleep(1000);
      for (int i = 0; i < n; ++i) send(p, topic, "record-" + i);
    }
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (System.currentTimeMillis() < deadline) {
      synchronized (lock) {
        if (timesSeen.keySet().containsAll(wanted)) break;
      }
      Thread.sleep(100);
    }
    // A while more: a record delivered twice would show now.
    Thread.sleep(1000);
    stop.set(true);
    for (Thread t : threads) t.join();
    synchronized (lock) {
      int duplicates = 0;
      for (int count : timesSeen.values()) duplicates += count - 1;
      int busy = 0;
      for (List<String> got : byConsumer.values()) busy += got.isEmpty() ? 0 : 1;
      Set<String> seen = new HashSet<>(timesSeen.keySet());
      seen.retainAll(wanted);
      System.out.println("three: records " + seen.size() + " of " + n);
      System.out.println("three: delivered twice " + duplicates);
      System.out.println("three: consumers with records " + busy);
      for (String f : failures) System.out.println("failed " + f);
    }
  }

  /** RELEASE redelivers, REJECT never does, an expired lock hands the record to another. */
  private static void acks(String bootstrap, String topic, String group) throws Exception {
    try (KafkaProducer<String, String> p = producer(bootstrap);
        KafkaShareConsumer<String, String> a = consumer(bootstrap, topic, group, "share-a", 500)) {
      warmUp(a, p, topic);

      send(p, topic, "released");
      ConsumerRecord<String, String> r = await(a, "released");
      System.out.println("released: first delivery " + deliveries(r));
      a.acknowledge(r, AcknowledgeType.RELEASE);
      a.commitSync();
      r = await(a, "released");
      System.out.println("released: delivered again, delivery " + deliveries(r));
      a.acknowledge(r, AcknowledgeType.ACCEPT);
      a.commitSync();

      send(p, topic, "rejected");
      r = await(a, "rejected");
      a.acknowledge(r, AcknowledgeType.REJECT);
      a.commitSync();
      send(p, topic, "after-rejected");
      r = await(a, "after-rejected");
      a.acknowledge(r, AcknowledgeType.ACCEPT);
      a.commitSync();
      // Past a lock's duration: a rejected record never comes back.
      boolean again = false;
      long until = System.currentTimeMillis() + 3000;
      while (System.currentTimeMillis() < until) {
        for (ConsumerRecord<String, String> x : a.poll(POLL)) {
          again |= x.value().equals("rejected");
          a.acknowledge(x, AcknowledgeType.ACCEPT);
        }
        a.commitSync();
      }
      System.out.println("rejected: delivered again " + again);

      // a takes a record and goes quiet; once its lock expires b gets it.
      send(p, topic, "expired");
      r = await(a, "expired");
      System.out.println("expired: first delivery to a " + deliveries(r));
      try (KafkaShareConsumer<String, String> b =
          consumer(bootstrap, topic, group, "share-b", 500)) {
        ConsumerRecord<String, String> x = await(b, "expired");
        System.out.println("expired: delivered to b, delivery " + deliveries(x));
        b.acknowledge(x, AcknowledgeType.ACCEPT);
        b.commitSync();
      }
    }
  }

  /** One record delivered twice and released each time; the consumer then leaves. */
  private static void releaseTwice(String bootstrap, String topic, String group) throws Exception {
    try (KafkaProducer<String, String> p = producer(bootstrap);
        KafkaShareConsumer<String, String> c = consumer(bootstrap, topic, group, "share-r", 500)) {
      warmUp(c, p, topic);
      send(p, topic, "kept");
      for (int i = 0; i < 2; ++i) {
        ConsumerRecord<String, String> r = await(c, "kept");
        System.out.println("kept: delivery " + deliveries(r) + ", released");
        c.acknowledge(r, AcknowledgeType.RELEASE);
        c.commitSync();
      }
    }
  }

  /** A consumer waits for the record and accepts it. */
  private static void take(String bootstrap, String topic, String group, String value) {
    try (KafkaShareConsumer<String, String> c =
        consumer(bootstrap, topic, group, "share-t", 500)) {
      ConsumerRecord<String, String> r = await(c, value);
      System.out.println(value + ": delivery " + deliveries(r));
      c.acknowledge(r, AcknowledgeType.ACCEPT);
      c.commitSync();
    }
  }
}
