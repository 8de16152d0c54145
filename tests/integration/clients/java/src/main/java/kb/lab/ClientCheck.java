package kb.lab;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
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
 *   produce &lt;bootstrap&gt; &lt;topic&gt;              per codec, an idempotent acks=all producer sends keyed
 *                                             records with headers, one null value, one null key
 *   read &lt;bootstrap&gt; &lt;topic&gt; &lt;count&gt;         reads partition 0 from the start by assignment
 *   group &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt;    a group member reads n records, commits, leaves
 *   stamped &lt;bootstrap&gt; &lt;topic&gt; &lt;codec&gt; &lt;t&gt;...  one batch of records with these timestamps
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
        produce(args[1], args[2]);
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
      default:
        throw new IllegalArgumentException("unknown check " + args[0]);
    }
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

  private static void produce(String bootstrap, String topic) throws Exception {
    for (String codec : CODECS) {
      Properties props = new Properties();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ProducerConfig.CLIENT_ID_CONFIG, "lab-producer-" + codec);
      props.put(ProducerConfig.ACKS_CONFIG, "all");
      props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
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
        StringBuilder offsets = new StringBuilder();
        for (Future<RecordMetadata> f : sent) offsets.append(' ').append(f.get().offset());
        System.out.println("produced " + codec + offsets);
      }
    }
  }

  private static void stamped(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args[3]);
    props.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 4; i < args.length; ++i) {
        sent.add(
            producer.send(
                new ProducerRecord<>(args[2], 0, Long.parseLong(args[i]), null, "at-" + args[i])));
      }
      producer.flush();
      StringBuilder offsets = new StringBuilder();
      for (Future<RecordMetadata> f : sent) offsets.append(' ').append(f.get().offset());
      System.out.println("produced" + offsets);
    }
  }

  private static Properties consumerProps(String bootstrap) {
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
}
