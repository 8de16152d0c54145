package kb.lab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;

/**
 * How Kafka's own code reads the text forms the broker must read the same way, for the test to
 * compare with the broker's parsers. {@code uuid}: each line of stdin through Uuid.fromString,
 * printed as "ok <id>" or "bad". {@code properties}: stdin through Properties.load(InputStream),
 * as Kafka loads server.properties and meta.properties, printed as "[key]=[value]" lines in key
 * order, or "error" when load throws.
 */
public final class TextForms {
  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("uuid")) {
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        try {
          System.out.println("ok " + Uuid.fromString(line));
        } catch (IllegalArgumentException e) {
          System.out.println("bad");
        }
      }
    } else if (args.length == 1 && args[0].equals("properties")) {
      Properties properties = new Properties();
      try {
        properties.load(System.in);
      } catch (IllegalArgumentException e) {
        System.out.println("error");
        return;
      }
      for (String key : new TreeSet<>(properties.stringPropertyNames()))
        System.out.println("[" + key + "]=[" + properties.getProperty(key) + "]");
    } else {
      throw new IllegalArgumentException("usage: TextForms uuid|properties");
    }
    System.out.flush();
  }
}
