package kb.lab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * Reads message bodies with kafka-clients' own generated message classes and writes them back,
 * for the test that checks the broker's generated messages against Kafka's. Each line of stdin
 * is "&lt;api key&gt; &lt;version&gt; request|response &lt;hex body&gt;", or for a record (a
 * generated class that is not a request or response: metadata records, the coordinators'
 * records, the consumer protocol's data) "record &lt;class name&gt; &lt;version&gt; &lt;hex&gt;",
 * the class looked for in the packages of the jars Kafka generates records into (the server's
 * class path has them all). Each answer line is "ok &lt;hex of the message written again&gt;",
 * "unsupported" (a version these classes do not know), or "error &lt;why&gt;" (the body did not
 * read, or bytes were left over, or no one class of that name).
 */
public final class MessageCheck {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    HexFormat hex = HexFormat.of();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] parts = line.split(" ", -1);
      if (parts[0].equals("record")) {
        System.out.println(checkRecord(parts[1], Short.parseShort(parts[2]), hex.parseHex(parts[3])));
        continue;
      }
      short key = Short.parseShort(parts[0]);
      short version = Short.parseShort(parts[1]);
      ApiMessageType type = ApiMessageType.fromApiKey(key);
      if (version < type.lowestSupportedVersion() || version > type.highestSupportedVersion(true)) {
        System.out.println("unsupported");
        continue;
      }
      ApiMessage message = parts[2].equals("request") ? type.newRequest() : type.newResponse();
      System.out.println(readAndWrite(message, version, hex.parseHex(parts[3])));
    }
  }

  // Where Kafka's generator puts the classes of its record schemas.
  private static final List<String> RECORD_PACKAGES = List.of(
      "org.apache.kafka.common.metadata",
      "org.apache.kafka.coordinator.group.generated",
      "org.apache.kafka.coordinator.transaction.generated",
      "org.apache.kafka.coordinator.share.generated",
      "org.apache.kafka.common.message");

  private static String checkRecord(String name, short version, byte[] body) {
    List<Class<?>> found = new ArrayList<>();
    for (String pkg : RECORD_PACKAGES) {
      try {
        Class<?> c = Class.forName(pkg + "." + name);
        if (Message.class.isAssignableFrom(c)) found.add(c);
      } catch (ClassNotFoundException e) {
        // not in this package
      }
    }
    if (found.size() != 1) return "error " + found.size() + " message classes named " + name;
    Message message;
    try {
      message = (Message) found.get(0).getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      return "error " + e;
    }
    if (version < message.lowestSupportedVersion() || version > message.highestSupportedVersion()) {
      return "unsupported";
    }
    return readAndWrite(message, version, body);
  }

  private static String readAndWrite(Message message, short version, byte[] bytes) {
    try {
      ByteBuffer body = ByteBuffer.wrap(bytes);
      message.read(new ByteBufferAccessor(body), version);
      if (body.hasRemaining()) return "error " + body.remaining() + " bytes left after reading";
      ObjectSerializationCache cache = new ObjectSerializationCache();
      ByteBuffer out = ByteBuffer.allocate(message.size(cache, version));
      message.write(new ByteBufferAccessor(out), cache, version);
      return "ok " + HexFormat.of().formatHex(out.array());
    } catch (RuntimeException e) {
      return "error " + e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }
}
