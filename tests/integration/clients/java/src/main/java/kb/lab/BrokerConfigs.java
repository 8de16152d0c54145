package kb.lab;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Every broker config Apache Kafka knows (kafka-server's AbstractKafkaConfig.CONFIG_DEF and the
 * dynamic ones of DynamicBrokerConfig), one a line: name, update mode (read-only, per-broker,
 * cluster-wide), type, default, validator, tab-separated. The broker's table of them
 * (src/cluster/kafka_broker_configs.cpp) is generated from this output and checked against it.
 * Needs kafka-server on the class path (the 4.x lab has it through kafka-tools).
 */
public final class BrokerConfigs {
  private BrokerConfigs() {}

  @SuppressWarnings("unchecked")
  public static void main(String[] args) throws Exception {
    ConfigDef def =
        (ConfigDef)
            Class.forName("org.apache.kafka.server.config.AbstractKafkaConfig")
                .getField("CONFIG_DEF")
                .get(null);
    Map<String, String> modes =
        (Map<String, String>)
            Class.forName("org.apache.kafka.server.config.DynamicBrokerConfig")
                .getMethod("dynamicConfigUpdateModes")
                .invoke(null);
    for (Map.Entry<String, ConfigDef.ConfigKey> e : new TreeMap<>(def.configKeys()).entrySet()) {
      ConfigDef.ConfigKey key = e.getValue();
      Object value = key.defaultValue;
      String shown =
          value == ConfigDef.NO_DEFAULT_VALUE
              ? "<none>"
              : value == null ? "null" : ConfigDef.convertToString(value, key.type);
      System.out.println(
          e.getKey()
              + "\t"
              + modes.getOrDefault(e.getKey(), "read-only")
              + "\t"
              + key.type
              + "\t"
              + shown
              + "\t"
              + (key.validator == null ? "" : key.validator.toString()));
    }
    // Dynamic configs defined elsewhere (the replication quotas).
    for (String name : new TreeSet<>(modes.keySet()))
      if (!def.configKeys().containsKey(name))
        System.out.println(name + "\t" + modes.get(name) + "\t(not in KafkaConfig)");
  }
}
