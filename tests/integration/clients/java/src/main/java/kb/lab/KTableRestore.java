package kb.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * A KTable whose store is backed by a compacted changelog, restored from it on a fresh state
 * directory: the latest value of each key of the input topic, kept by a reduce.
 *
 * <pre>
 *   KTableRestore &lt;bootstrap&gt; &lt;application id&gt; &lt;input&gt; &lt;keys&gt; &lt;updates&gt; load|restore
 * </pre>
 *
 * "load" runs the application and writes the updates to the input meanwhile (update i sets key "k"
 * + i % keys to "v" + i, in rounds), until its store holds each key's last value. "restore" runs it again on an empty
 * state directory (the store comes back from the changelog alone). Each then prints "state
 * RUNNING" once it ran, "store matches: true" when the store held exactly the last value of every
 * key within 60 s, and "restore" prints "restored N", the records the restore read from the
 * changelog. The changelog is created rolling a segment every 100 ms with any dirty share worth
 * cleaning, so the broker's cleaner compacts it while the application runs.
 */
public final class KTableRestore {
  private KTableRestore() {}

  static final String STORE = "latest";

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String applicationId = args[1];
    String input = args[2];
    int keys = Integer.parseInt(args[3]);
    int updates = Integer.parseInt(args[4]);
    boolean load = args[5].equals("load");

    Map<String, String> expected = new TreeMap<>();
    for (int i = 0; i < updates; ++i) expected.put("k" + (i % keys), "v" + i);

    Path stateDir = Files.createTempDirectory("kb-lab-ktable-");
    Properties props =
        WordCount.streamsProperties(bootstrap, applicationId, StreamsConfig.AT_LEAST_ONCE, stateDir);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .reduce(
            (older, newer) -> newer,
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(STORE)
                .withKeySerde(Serdes.String())
                .withValueSerde(Serdes.String())
                .withLoggingEnabled(
                    Map.of(
                        "segment.ms", "100",
                        "min.cleanable.dirty.ratio", "0.01",
                        "delete.retention.ms", "100")));

    AtomicLong restored = new AtomicLong();
    boolean ran;
    boolean matches = false;
    try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
      streams.setGlobalStateRestoreListener(
          new StateRestoreListener() {
            @Override
            public void onRestoreStart(TopicPartition tp, String store, long start, long end) {}

            @Override
            public void onBatchRestored(TopicPartition tp, String store, long end, long count) {
              restored.addAndGet(count);
            }

            @Override
            public void onRestoreEnd(TopicPartition tp, String store, long total) {}
          });
      ran = WordCount.startAndAwaitRunning(streams);
      if (ran && load) produce(bootstrap, input, keys, updates);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (ran && !matches && System.nanoTime() < deadline) {
        try {
          ReadOnlyKeyValueStore<String, String> store =
              streams.store(
                  StoreQueryParameters.fromNameAndType(
                      STORE, QueryableStoreTypes.<String, String>keyValueStore()));
          Map<String, String> held = new TreeMap<>();
          try (var all = store.all()) {
            all.forEachRemaining(kv -> held.put(kv.key, kv.value));
          }
          matches = held.equals(expected);
        } catch (org.apache.kafka.streams.errors.InvalidStateStoreException e) {
          // Not queryable yet (still restoring or rebalancing).
        }
        if (!matches) Thread.sleep(100);
      }
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
    }
    WordCount.deleteTree(stateDir);
    if (ran) System.out.println("state RUNNING");
    System.out.println("store matches: " + matches);
    if (!load) System.out.println("restored " + restored.get());
  }

  static void produce(String bootstrap, String topic, int keys, int updates) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      // In twenty rounds a little over segment.ms apart: the changelog's
      // writes fall into many segments, most of them cleanable.
      int rounds = 20;
      for (int round = 0; round < rounds; ++round) {
        for (int i = round * updates / rounds; i < (round + 1) * updates / rounds; ++i)
          producer.send(new ProducerRecord<>(topic, "k" + (i % keys), "v" + i));
        producer.flush();
        Thread.sleep(150);
      }
    }
  }
}
