package kb.lab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * Reads message bodies with kafka-clients' own generated message classes and writes them back,
 * for the test that checks the broker's generated messages against Kafka's. Each line of stdin
 * is "&lt;api key&gt; &lt;version&gt; request|response &lt;hex body&gt;"; each answer line is "ok
 * &lt;hex of the message written again&gt;", "unsupported" (a version these classes do not
 * know), or "error &lt;why&gt;" (the body did not read, or bytes were left over).
 */
public final class MessageCheck {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    HexFormat hex = HexFormat.of();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] parts = line.split(" ", -1);
      short key = Short.parseShort(parts[0]);
      short version = Short.parseShort(parts[1]);
      ApiMessageType type = ApiMessageType.fromApiKey(key);
      if (version < type.lowestSupportedVersion() || version > type.highestSupportedVersion(true)) {
        System.out.println("unsupported");
        continue;
      }
      ApiMessage message = parts[2].equals("request") ? type.newRequest() : type.newResponse();
      try {
        ByteBuffer body = ByteBuffer.wrap(hex.parseHex(parts[3]));
        message.read(new ByteBufferAccessor(body), version);
        if (body.hasRemaining()) {
          System.out.println("error " + body.remaining() + " bytes left after reading");
          continue;
        }
        ObjectSerializationCache cache = new ObjectSerializationCache();
        ByteBuffer out = ByteBuffer.allocate(message.size(cache, version));
        message.write(new ByteBufferAccessor(out), cache, version);
        System.out.println("ok " + hex.formatHex(out.array()));
      } catch (RuntimeException e) {
        System.out.println("error " + e.getClass().getSimpleName() + ": " + e.getMessage());
      }
    }
  }
}
