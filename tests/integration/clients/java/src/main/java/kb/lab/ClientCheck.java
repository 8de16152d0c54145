package kb.lab;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's own checks, run by Shell with kafka-clients 4.x or 3.9.x on the class path
 * (it uses only API both have). Everything it saw is printed, one fact a line, for the test to
 * compare with what Kafka does:
 *
 * <pre>
 *   version                                   the kafka-clients version on the class path
 *   produce &lt;bootstrap&gt; &lt;topic&gt; [acks]       per codec, a producer sends keyed records with
 *                                             headers, one null value, one null key; acks all
 *                                             (the default) leaves idempotence at its default,
 *                                             acks 0 and 1 turn it off
 *   read &lt;bootstrap&gt; &lt;topic&gt; &lt;count&gt;         reads partition 0 from the start by assignment
 *   group &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt;    a group member reads n records, commits, leaves
 *   stamped &lt;bootstrap&gt; &lt;topic&gt; &lt;codec&gt; &lt;t&gt;...  one batch of records with these timestamps
 *   group3 &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;        three members on six partitions, one leaves
 *   times &lt;bootstrap&gt; &lt;topic&gt; &lt;codec&gt; &lt;base&gt;  offsetsForTimes inside one batch, then seeks
 *   admin &lt;bootstrap&gt; &lt;prefix&gt;               the admin client on two topics (and
 *                                             refusals: a bad config, a missing topic)
 *   transactions &lt;bootstrap&gt; &lt;topic&gt; &lt;id&gt; &lt;n&gt;  n transactions of five keyed records from
 *                                             transactional id id; one in three aborted
 *   open-transaction &lt;bootstrap&gt; &lt;topic&gt; &lt;id&gt;  three records to partition 0 in a transaction
 *                                             left open: the producer goes without ending it
 * </pre>
 */
public final class ClientCheck {
  private static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  private ClientCheck() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "version":
        printVersion();
        break;
      case "produce":
        produce(args[1], args[2], args.length > 3 ? args[3] : "all");
        break;
      case "read":
        read(args[1], args[2], Integer.parseInt(args[3]));
        break;
      case "group":
        group(args[1], args[2], args[3], Integer.parseInt(args[4]));
        break;
      case "stamped":
        stamped(args);
        break;
      case "group3":
        GroupOfThree.run(args[1], args[2], args[3]);
        break;
      case "times":
        times(args[1], args[2], args[3], Long.parseLong(args[4]));
        break;
      case "admin":
        admin(args[1], args[2]);
        break;
      case "transactions":
        transactions(args[1], args[2], args[3], Integer.parseInt(args[4]));
        break;
      case "open-transaction":
        openTransaction(args[1], args[2], args[3]);
        break;
      default:
        throw new IllegalArgumentException("unknown check " + args[0]);
    }
  }

  private static void transactions(String bootstrap, String topic, String id, int count)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
    int committed = 0;
    int aborted = 0;
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.initTransactions();
      for (int t = 0; t < count; ++t) {
        producer.beginTransaction();
        for (int i = 0; i < 5; ++i)
          producer.send(new ProducerRecord<>(topic, id + "-" + t + "-" + i, "txn " + t));
        producer.flush();
        if (t % 3 == 1) {
          producer.abortTransaction();
          ++aborted;
        } else {
          producer.commitTransaction();
          ++committed;
        }
      }
    }
    System.out.println("transactions committed " + committed + " aborted " + aborted);
  }

  private static void openTransaction(String bootstrap, String topic, String id) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
    KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    producer.initTransactions();
    producer.beginTransaction();
    for (int i = 0; i < 3; ++i) producer.send(new ProducerRecord<>(topic, 0, "k" + i, "open " + i));
    producer.flush();
    // Closed at once: a graceful close would abort the transaction first.
    producer.close(Duration.ZERO);
    System.out.println("open transaction of 3 records");
  }

  // kafka-clients carries its version in a resource (the class that reads it moved in 4.x).
  private static void printVersion() throws java.io.IOException {
    Properties version = new Properties();
    try (java.io.InputStream in =
        KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
      version.load(in);
    }
    System.out.println(version.getProperty("version"));
  }

  private static void produce(String bootstrap, String topic, String acks) throws Exception {
    for (String codec : CODECS) {
      Properties props = new Properties();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ProducerConfig.CLIENT_ID_CONFIG, "lab-producer-" + codec);
      props.put(ProducerConfig.ACKS_CONFIG, acks);
      // Idempotence is the client's default with acks=all; it needs acks=all.
      if (!acks.equals("all")) props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
      props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
      // The six records of a codec go out as one batch, at flush().
      props.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < 4; ++i) {
          ProducerRecord<String, String> record =
              new ProducerRecord<>(topic, 0, codec + "-k" + i, codec + "-v" + i + "-" + "x".repeat(64));
          record.headers().add("codec", codec.getBytes(StandardCharsets.UTF_8));
          record.headers().add("index", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
          sent.add(producer.send(record));
        }
        sent.add(producer.send(new ProducerRecord<>(topic, 0, codec + "-k4", null)));
        sent.add(producer.send(new ProducerRecord<>(topic, 0, null, codec + "-no-key")));
        producer.flush();
        // With acks=0 the client reports offset -1: no answer tells it one.
        StringBuilder offsets = new StringBuilder();
        for (Future<RecordMetadata> f : sent) offsets.append(' ').append(f.get().offset());
        System.out.println("produced " + codec + offsets);
      }
    }
  }

  private static void stamped(String[] args) throws Exception {
    long[] stamps = new long[args.length - 4];
    for (int i = 4; i < args.length; ++i) stamps[i - 4] = Long.parseLong(args[i]);
    System.out.println("produced" + produceStamped(args[1], args[2], args[3], stamps));
  }

  // One batch of records (value "at-<timestamp>") with these timestamps; the offsets answered.
  private static String produceStamped(String bootstrap, String topic, String codec, long[] stamps)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    props.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (long stamp : stamps)
        sent.add(producer.send(new ProducerRecord<>(topic, 0, stamp, null, "at-" + stamp)));
      producer.flush();
      StringBuilder offsets = new StringBuilder();
      for (Future<RecordMetadata> f : sent) offsets.append(' ').append(f.get().offset());
      return offsets.toString();
    }
  }

  static Properties consumerProps(String bootstrap) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    return props;
  }

  private static String describe(ConsumerRecord<String, String> r) {
    StringBuilder line = new StringBuilder();
    line.append(r.partition()).append(':').append(r.offset());
    line.append(" key=").append(r.key()).append(" value=").append(r.value());
    for (Header h : r.headers()) {
      line.append(' ').append(h.key()).append('=');
      line.append(h.value() == null ? "null" : new String(h.value(), StandardCharsets.UTF_8));
    }
    return line.toString();
  }

  private static void read(String bootstrap, String topic, int count) {
    Properties props = consumerProps(bootstrap);
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(Collections.singletonList(tp));
      consumer.seekToBeginning(Collections.singletonList(tp));
      int seen = 0;
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      while (seen < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          System.out.println(describe(r));
          ++seen;
        }
      }
      System.out.println("read " + seen);
    }
  }

  private static void group(String bootstrap, String topic, String groupId, int count) {
    Properties props = consumerProps(bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(Collections.singletonList(topic));
      Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
      int seen = 0;
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      while (seen < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          System.out.println(describe(r));
          next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          ++seen;
        }
      }
      consumer.commitSync(next);
      Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(next.keySet());
      next.keySet().stream()
          .sorted(Comparator.comparingInt(TopicPartition::partition))
          .forEach(
              tp -> System.out.println("committed " + tp.partition() + ":" + committed.get(tp).offset()));
    }
  }

  // A time as printed: relative to the base ("+5000"), or -1 for none.
  private static String relative(long timestamp, long base) {
    return timestamp < 0 ? Long.toString(timestamp) : "+" + (timestamp - base);
  }

  // Twenty records stamped base+i*1000 in one batch of `codec`; offsetsForTimes for times inside
  // and after it, then a seek to each offset found and the record read there.
  private static void times(String bootstrap, String topic, String codec, long base)
      throws Exception {
    long[] stamps = new long[20];
    for (int i = 0; i < stamps.length; ++i) stamps[i] = base + i * 1000L;
    System.out.println("produced" + produceStamped(bootstrap, topic, codec, stamps));
    long[] asked = {base, base + 500, base + 5000, base + 19000, base + 19001};
    TopicPartition tp = new TopicPartition(topic, 0);
    Properties props = consumerProps(bootstrap);
    // A seek waits for the fetch in flight (a long poll at the end of the log) to come back.
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.assign(Collections.singletonList(tp));
      List<Long> found = new ArrayList<>();
      for (long t : asked) {
        OffsetAndTimestamp at = consumer.offsetsForTimes(Collections.singletonMap(tp, t)).get(tp);
        String answer = "null";
        if (at != null) {
          answer = "offset " + at.offset() + " timestamp " + relative(at.timestamp(), base);
          found.add(at.offset());
        }
        System.out.println("at " + relative(t, base) + ": " + answer);
      }
      for (long offset : found) {
        consumer.seek(tp, offset);
        ConsumerRecord<String, String> first = null;
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (first == null && System.nanoTime() < deadline) {
          ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
          if (!records.isEmpty()) first = records.iterator().next();
        }
        System.out.println(
            "seek "
                + offset
                + ": "
                + (first == null
                    ? "nothing"
                    : "offset " + first.offset() + " timestamp " + relative(first.timestamp(), base)
                        + " value " + first.value()));
      }
    }
  }

  // What an admin call ended with: "ok", or the exception's class and message.
  private static String outcome(KafkaFuture<?> future) throws InterruptedException {
    try {
      future.get();
      return "ok";
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
  }

  private static void printTopics(Admin admin, String prefix) throws Exception {
    Set<String> names = new TreeSet<>();
    for (String name : admin.listTopics().names().get()) {
      if (name.startsWith(prefix)) names.add(name);
    }
    if (names.isEmpty()) System.out.println("listed none");
    Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
    for (String name : names)
      System.out.println("listed " + name + " partitions " + described.get(name).partitions().size());
  }

  private static final List<String> SHOWN_CONFIGS =
      Arrays.asList("cleanup.policy", "max.message.bytes", "retention.ms");

  private static void printConfigs(Admin admin, List<String> topics) throws Exception {
    List<ConfigResource> resources = new ArrayList<>();
    for (String t : topics) resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
    Map<ConfigResource, Config> configs =
        admin.describeConfigs(resources, new DescribeConfigsOptions().includeSynonyms(true))
            .all()
            .get();
    for (ConfigResource r : resources) {
      for (String name : SHOWN_CONFIGS) {
        ConfigEntry e = configs.get(r).get(name);
        StringBuilder line = new StringBuilder("config ");
        line.append(r.name()).append(' ').append(name).append('=').append(e.value());
        line.append(' ').append(e.source()).append(e.isReadOnly() ? " read-only" : "");
        line.append(" synonyms");
        for (ConfigEntry.ConfigSynonym s : e.synonyms())
          line.append(' ').append(s.name()).append('=').append(s.value()).append(':').append(s.source());
        System.out.println(line);
      }
    }
  }

  // createTopics with configs, again (refused), listTopics, createPartitions (grow; a shrink
  // refused), incrementalAlterConfigs set and delete, describeConfigs with sources, deleteTopics.
  private static void admin(String bootstrap, String prefix) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    String a = prefix + "-a";
    String b = prefix + "-b";
    try (Admin admin = Admin.create(props)) {
      Map<String, String> aConfigs = new HashMap<>();
      aConfigs.put("retention.ms", "3600000");
      aConfigs.put("max.message.bytes", "200000");
      NewTopic newA = new NewTopic(a, 3, (short) 1).configs(aConfigs);
      NewTopic newB =
          new NewTopic(b, 1, (short) 1)
              .configs(Collections.singletonMap("cleanup.policy", "compact"));
      Map<String, KafkaFuture<Void>> created = admin.createTopics(Arrays.asList(newA, newB)).values();
      System.out.println("create " + a + ": " + outcome(created.get(a)));
      System.out.println("create " + b + ": " + outcome(created.get(b)));
      NewTopic bad =
          new NewTopic(prefix + "-bad", 1, (short) 1)
              .configs(Collections.singletonMap("retention.ms", "abc"));
      System.out.println(
          "create " + bad.name() + ": "
              + outcome(admin.createTopics(Collections.singletonList(bad)).all()));
      KafkaFuture<Void> again =
          admin.createTopics(Collections.singletonList(new NewTopic(a, 1, (short) 1))).values().get(a);
      System.out.println("create " + a + " again: " + outcome(again));
      printTopics(admin, prefix);
      printConfigs(admin, Arrays.asList(a, b));

      KafkaFuture<Void> grow =
          admin.createPartitions(Collections.singletonMap(a, NewPartitions.increaseTo(5))).values().get(a);
      System.out.println("partitions " + a + " to 5: " + outcome(grow));
      KafkaFuture<Void> shrink =
          admin.createPartitions(Collections.singletonMap(a, NewPartitions.increaseTo(2))).values().get(a);
      System.out.println("partitions " + a + " to 2: " + outcome(shrink));
      printTopics(admin, prefix);
      String missing = prefix + "-missing";
      System.out.println(
          "partitions " + missing + " to 2: "
              + outcome(
                  admin.createPartitions(Collections.singletonMap(missing, NewPartitions.increaseTo(2)))
                      .all()));
      System.out.println(
          "describe " + missing + ": "
              + outcome(
                  admin.describeConfigs(
                          Collections.singletonList(
                              new ConfigResource(ConfigResource.Type.TOPIC, missing)))
                      .all()));

      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, a);
      Collection<AlterConfigOp> ops =
          Arrays.asList(
              new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET),
              new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
              new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE));
      KafkaFuture<Void> altered =
          admin.incrementalAlterConfigs(Collections.singletonMap(resource, ops)).values().get(resource);
      System.out.println("incremental alter " + a + ": " + outcome(altered));
      printConfigs(admin, Arrays.asList(a, b));

      Map<String, KafkaFuture<Void>> deleted =
          admin.deleteTopics(Arrays.asList(a, b)).topicNameValues();
      System.out.println("delete " + a + ": " + outcome(deleted.get(a)));
      System.out.println("delete " + b + ": " + outcome(deleted.get(b)));
      printTopics(admin, prefix);
    }
  }
}
