package kb.lab;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Transactional produce against plain idempotent produce, for bench/run_kafka_side_by_side.sh.
 *
 * <pre>
 *   TxnBench &lt;bootstrap&gt; &lt;topic prefix&gt; &lt;records&gt; &lt;record size&gt; &lt;records per transaction&gt;...
 * </pre>
 *
 * Sends the records with acks=all (after as many unmeasured, to warm the JVM up), first with an
 * idempotent producer and no transaction, then for each transaction size with a transactional
 * producer that commits every that many records. The commit time is measured apart from the
 * sends: the producer is flushed first, so it is the EndTxn round trip (answered once the
 * coordinator has written PrepareCommit; the markers follow). Prints one line a mode,
 * "mode=plain records_per_sec=R" and "mode=txn-N records_per_sec=R commit_p50_ms=A
 * commit_p99_ms=B", each on its own topic.
 */
public final class TxnBench {
  private TxnBench() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String prefix = args[1];
    int records = Integer.parseInt(args[2]);
    byte[] value = new byte[Integer.parseInt(args[3])];
    List<Integer> sizes = new ArrayList<>();
    for (int i = 4; i < args.length; ++i) sizes.add(Integer.parseInt(args[i]));

    Properties plain = properties(bootstrap);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(plain)) {
      // The same records once unmeasured first: the JIT compiles the client's paths, so the first
      // mode measured is not the only one to pay for it.
      for (String topic : new String[] {prefix + "-warm-up", prefix + "-plain"}) {
        long start = System.nanoTime();
        for (int i = 0; i < records; ++i) producer.send(new ProducerRecord<>(topic, value));
        producer.flush();
        if (topic.endsWith("-plain"))
          System.out.printf("mode=plain records_per_sec=%.0f%n", rate(records, start));
      }
    }

    for (int perTxn : sizes) {
      Properties props = properties(bootstrap);
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, prefix + "-txn-" + perTxn);
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
        producer.initTransactions();
        String topic = prefix + "-txn-" + perTxn;
        List<Long> commitNanos = new ArrayList<>();
        long start = System.nanoTime();
        for (int sent = 0; sent < records; ) {
          producer.beginTransaction();
          for (int i = 0; i < perTxn && sent < records; ++i, ++sent)
            producer.send(new ProducerRecord<>(topic, value));
          producer.flush();
          long before = System.nanoTime();
          producer.commitTransaction();
          commitNanos.add(System.nanoTime() - before);
        }
        double perSecond = rate(records, start);
        Collections.sort(commitNanos);
        System.out.printf(
            "mode=txn-%d records_per_sec=%.0f commit_p50_ms=%.2f commit_p99_ms=%.2f%n",
            perTxn, perSecond, millis(percentile(commitNanos, 50)),
            millis(percentile(commitNanos, 99)));
      }
    }
  }

  static Properties properties(String bootstrap) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return props;
  }

  static double rate(int records, long startNanos) {
    return records / ((System.nanoTime() - startNanos) / (double) TimeUnit.SECONDS.toNanos(1));
  }

  // The nearest-rank percentile of sorted values.
  static long percentile(List<Long> sorted, int pct) {
    int rank = (int) Math.ceil(pct / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  static double millis(long nanos) {
    return nanos / 1e6;
  }
}
