package kb.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Kafka Streams' word count, at-least-once (the default guarantee): lines from the input topic are
 * split into lower-case words, re-keyed by word (through a repartition topic), counted in a state
 * store (backed by a changelog topic) and each new count written to the output topic.
 *
 * <pre>
 *   WordCount &lt;bootstrap&gt; &lt;application id&gt; &lt;input&gt; &lt;output&gt; &lt;words expected&gt;
 * </pre>
 *
 * Runs until the counts read back from the output topic add up to the words expected (60 s at
 * most), closes the application, then prints "state RUNNING" once it had run and the last count of
 * each word it read, "word count" a line, sorted.
 */
public final class WordCount {
  private WordCount() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String applicationId = args[1];
    String input = args[2];
    String output = args[3];
    long expectedWords = Long.parseLong(args[4]);
    Path stateDir = Files.createTempDirectory("kb-lab-streams-");

    Properties props =
        streamsProperties(bootstrap, applicationId, StreamsConfig.AT_LEAST_ONCE, stateDir);

    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> lines =
        builder.stream(input, org.apache.kafka.streams.kstream.Consumed.with(Serdes.String(), Serdes.String()));
    lines
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));

    Map<String, Long> counts = new TreeMap<>();
    boolean ran;
    try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
      ran = startAndAwaitRunning(streams);
      Properties consumerProps = new Properties();
      consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      try (KafkaConsumer<String, Long> consumer =
          new KafkaConsumer<>(consumerProps, new StringDeserializer(), new LongDeserializer())) {
        assignFromStart(consumer, output);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline
            && counts.values().stream().mapToLong(Long::longValue).sum() < expectedWords) {
          for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200)))
            counts.put(r.key(), r.value());
        }
      }
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
    }
    deleteTree(stateDir);
    if (ran) System.out.println("state RUNNING");
    for (Map.Entry<String, Long> e : counts.entrySet())
      System.out.println(e.getKey() + " " + e.getValue());
  }

  // The settings both Streams applications of the lab run with: every update goes downstream (no
  // record cache), so the output shows each count, and commits come every 100 ms.
  static Properties streamsProperties(
      String bootstrap, String applicationId, String guarantee, Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    return props;
  }

  // Starts the application; whether it reached RUNNING within 60 s.
  static boolean startAndAwaitRunning(KafkaStreams streams) throws InterruptedException {
    CountDownLatch running = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING) running.countDown();
        });
    streams.start();
    return running.await(60, TimeUnit.SECONDS);
  }

  // Every partition of `topic`, assigned to `consumer` from its start.
  static void assignFromStart(KafkaConsumer<?, ?> consumer, String topic) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (PartitionInfo p : consumer.partitionsFor(topic))
      partitions.add(new TopicPartition(topic, p.partition()));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  static void deleteTree(Path dir) throws java.io.IOException {
    try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
