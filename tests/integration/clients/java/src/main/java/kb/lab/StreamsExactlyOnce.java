package kb.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A Kafka Streams word count with processing.guarantee=exactly_once_v2, written for a broker that
 * is killed while it runs. Line i of the input is "w(i%10) x(i%4)"; an idempotent producer sends
 * them one every 10 ms while the application counts them (through a repartition topic and a
 * changelog-backed store, no record cache, so every count goes downstream).
 *
 * <pre>
 *   StreamsExactlyOnce &lt;bootstrap&gt; &lt;application id&gt; &lt;input&gt; &lt;output&gt; &lt;lines&gt; &lt;progress file&gt;
 * </pre>
 *
 * A read_committed consumer follows the output topic and writes the progress file once a third of
 * the words are counted: the test kills and restarts the broker then. Under exactly-once every
 * word's counts arrive as 1, 2, 3, ... with none missing and none repeated, whatever the broker
 * went through. Prints "state RUNNING" once the application ran, "produced N", "counts in order:
 * true" (or the first breaks of that order), then the last count of each word, sorted.
 */
public final class StreamsExactlyOnce {
  private StreamsExactlyOnce() {}

  static String line(int i) {
    return "w" + (i % 10) + " x" + (i % 4);
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String applicationId = args[1];
    String input = args[2];
    String output = args[3];
    int lines = Integer.parseInt(args[4]);
    Path progress = Path.of(args[5]);
    long expectedWords = 2L * lines;

    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin
          .createTopics(List.of(new NewTopic(input, 2, (short) 1), new NewTopic(output, 2, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }

    Path stateDir = Files.createTempDirectory("kb-lab-streams-eos-");
    Properties props =
        WordCount.streamsProperties(
            bootstrap, applicationId, StreamsConfig.EXACTLY_ONCE_V2, stateDir);

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(text -> Arrays.asList(text.split(" ")))
        .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));

    Map<String, Long> last = new TreeMap<>();
    List<String> breaks = new ArrayList<>();
    int produced = 0;
    boolean ran;
    try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
      ran = WordCount.startAndAwaitRunning(streams);

      Properties producerProps = new Properties();
      producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
      producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
      Properties consumerProps = new Properties();
      consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      try (KafkaProducer<String, String> producer =
              new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer());
          KafkaConsumer<String, Long> consumer =
              new KafkaConsumer<>(consumerProps, new StringDeserializer(), new LongDeserializer())) {
        WordCount.assignFromStart(consumer, output);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long counted = 0;
        long nextSend = System.nanoTime();
        boolean signalled = false;
        while (System.nanoTime() < deadline && counted < expectedWords) {
          // The lines go out one every 10 ms, between polls of the output.
          while (produced < lines && System.nanoTime() >= nextSend) {
            producer.send(new ProducerRecord<>(input, "line-" + produced, line(produced)));
            ++produced;
            nextSend += TimeUnit.MILLISECONDS.toNanos(10);
          }
          if (produced == lines) producer.flush();
          for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(10))) {
            long before = last.getOrDefault(r.key(), 0L);
            if (r.value() != before + 1 && breaks.size() < 5)
              breaks.add(r.key() + " " + before + " then " + r.value());
            last.put(r.key(), r.value());
          }
          counted = last.values().stream().mapToLong(Long::longValue).sum();
          if (!signalled && counted * 3 >= expectedWords) {
            Files.writeString(progress, "counted " + counted + "\n");
            signalled = true;
          }
        }
      }
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
    }
    WordCount.deleteTree(stateDir);
    if (ran) System.out.println("state RUNNING");
    System.out.println("produced " + produced);
    System.out.println(
        "counts in order: " + (breaks.isEmpty() ? "true" : String.join(", ", breaks)));
    for (Map.Entry<String, Long> e : last.entrySet())
      System.out.println(e.getKey() + " " + e.getValue());
  }
}
