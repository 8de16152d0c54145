package kb.lab;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.LoggerFactory;

/**
 * Runs main classes (Kafka's tools, the lab's own client checks) one after another in this JVM, so
 * a test pays for one JVM start-up, not one per command. Commands come on stdin, results go to
 * stdout; everything is length-prefixed, so outputs may hold any bytes:
 *
 * <pre>
 *   request:  run &lt;main class&gt;\n  (arg &lt;one argument&gt;\n)*  stdin &lt;n&gt;\n &lt;n bytes&gt;  end\n
 *   response: exit &lt;code&gt;\n  out &lt;n&gt;\n &lt;n bytes&gt;  err &lt;n&gt;\n &lt;n bytes&gt;
 * </pre>
 *
 * A tool's exit code is what it passes to Kafka's Exit.exit (0 when main returns). As
 * System.exit would, Exit.exit never returns: the calling thread is parked for good (no catch or
 * finally block of the tool runs after it), and the tool's shutdown hooks (the console producer
 * closes its producer in one) run. A command still running after the time limit is answered with
 * exit code 124 and the stacks of every thread in err, and this JVM stops: what it left running
 * cannot be trusted.
 */
public final class Shell {
  private static final long TIME_LIMIT_SECONDS = Long.getLong("kb.lab.timeLimitSeconds", 120);

  private static final List<Runnable> shutdownHooks = new ArrayList<>();
  private static Integer firstExitCode;
  private static CountDownLatch ended = new CountDownLatch(1);

  private Shell() {}

  public static void main(String[] args) throws Exception {
    // Logging starts now, while System.err is still the JVM's own stream: the appender keeps the
    // stream it found, so warnings go to the JVM's stderr and never into a tool's output.
    LoggerFactory.getLogger(Shell.class).debug("kb.lab.Shell started");
    installExitHandlers();
    InputStream in = new BufferedInputStream(System.in);
    PrintStream out = System.out;
    PrintStream err = System.err;
    while (true) {
      String line = readLine(in);
      // Clients a tool left open when it exited would keep a JVM alive; its end is this one's.
      if (line == null) System.exit(0);
      if (!line.startsWith("run ")) throw new IOException("expected 'run <class>', got: " + line);
      String mainClass = line.substring(4);
      List<String> toolArgs = new ArrayList<>();
      byte[] stdin = new byte[0];
      while (true) {
        String field = readLine(in);
        if (field == null) throw new IOException("request cut short");
        if (field.equals("end")) break;
        if (field.startsWith("arg ")) {
          toolArgs.add(field.substring(4));
        } else if (field.startsWith("stdin ")) {
          stdin = in.readNBytes(Integer.parseInt(field.substring(6)));
        } else {
          throw new IOException("unknown request field: " + field);
        }
      }
      Result result = run(mainClass, toolArgs.toArray(new String[0]), stdin);
      System.setOut(out);
      System.setErr(err);
      writeField(out, "exit " + result.exitCode + "\n", null);
      writeField(out, "out", result.out);
      writeField(out, "err", result.err);
      out.flush();
      if (result.timedOut) Runtime.getRuntime().halt(124);
    }
  }

  private static final class Result {
    int exitCode;
    boolean timedOut;
    byte[] out;
    byte[] err;
  }

  private static Result run(String mainClass, String[] args, byte[] stdin) throws Exception {
    ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    PrintStream toolOut = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    PrintStream toolErr = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    System.setIn(new ByteArrayInputStream(stdin));
    System.setOut(toolOut);
    System.setErr(toolErr);
    CountDownLatch done = new CountDownLatch(1);
    synchronized (Shell.class) {
      shutdownHooks.clear();
      firstExitCode = null;
      ended = done;
    }
    Result result = new Result();
    int[] code = {0};
    Method main = Class.forName(mainClass).getMethod("main", String[].class);
    Thread tool =
        new Thread(
            () -> {
              try {
                main.invoke(null, (Object) args);
              } catch (InvocationTargetException e) {
                e.getCause().printStackTrace(toolErr);
                code[0] = 1;
              } catch (Throwable t) {
                t.printStackTrace(toolErr);
                code[0] = 1;
              } finally {
                done.countDown();
              }
            },
            "tool-main");
    tool.setDaemon(true);
    tool.start();
    if (!done.await(TIME_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      result.timedOut = true;
      result.exitCode = 124;
      toolErr.println("still running after " + TIME_LIMIT_SECONDS + " s; thread stacks:");
      for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
        toolErr.println("thread " + e.getKey().getName());
        for (StackTraceElement frame : e.getValue()) toolErr.println("    at " + frame);
      }
    } else {
      runShutdownHooks();
      synchronized (Shell.class) {
        result.exitCode = firstExitCode != null ? firstExitCode : code[0];
      }
    }
    toolOut.flush();
    toolErr.flush();
    result.out = outBytes.toByteArray();
    result.err = errBytes.toByteArray();
    return result;
  }

  // As the JVM runs shutdown hooks at exit: all at once, each in its own thread.
  private static void runShutdownHooks() throws InterruptedException {
    List<Runnable> hooks;
    synchronized (Shell.class) {
      hooks = new ArrayList<>(shutdownHooks);
      shutdownHooks.clear();
    }
    List<Thread> threads = new ArrayList<>();
    for (Runnable hook : hooks) {
      Thread t = new Thread(hook, "tool-shutdown-hook");
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(30));
  }

  // Kafka's tools exit through org.apache.kafka.common.utils.Exit (clients 3.x) or
  // ...utils.internals.Exit (4.x); both take replaceable procedures.
  private static void installExitHandlers() throws Exception {
    Class<?> exit;
    try {
      exit = Class.forName("org.apache.kafka.common.utils.internals.Exit");
    } catch (ClassNotFoundException e) {
      exit = Class.forName("org.apache.kafka.common.utils.Exit");
    }
    Class<?> procedure = Class.forName(exit.getName() + "$Procedure");
    Class<?> hookAdder = Class.forName(exit.getName() + "$ShutdownHookAdder");
    Object exitProcedure =
        Proxy.newProxyInstance(
            Shell.class.getClassLoader(),
            new Class<?>[] {procedure},
            (proxy, method, methodArgs) -> {
              if (!method.getName().equals("execute")) return objectMethod(proxy, method, methodArgs);
              CountDownLatch toolEnded;
              synchronized (Shell.class) {
                if (firstExitCode == null) firstExitCode = (Integer) methodArgs[0];
                toolEnded = ended;
              }
              toolEnded.countDown();
              while (true) LockSupport.park();
            });
    Object addHook =
        Proxy.newProxyInstance(
            Shell.class.getClassLoader(),
            new Class<?>[] {hookAdder},
            (proxy, method, methodArgs) -> {
              if (!method.getName().equals("addShutdownHook"))
                return objectMethod(proxy, method, methodArgs);
              synchronized (Shell.class) {
                shutdownHooks.add((Runnable) methodArgs[1]);
              }
              return null;
            });
    exit.getMethod("setExitProcedure", procedure).invoke(null, exitProcedure);
    exit.getMethod("setHaltProcedure", procedure).invoke(null, exitProcedure);
    exit.getMethod("setShutdownHookAdder", hookAdder).invoke(null, addHook);
  }

  private static Object objectMethod(Object proxy, Method method, Object[] args) {
    switch (method.getName()) {
      case "hashCode":
        return System.identityHashCode(proxy);
      case "equals":
        return proxy == args[0];
      default:
        return "kb.lab.Shell proxy";
    }
  }

  private static void writeField(OutputStream out, String header, byte[] body) throws IOException {
    if (body == null) {
      out.write(header.getBytes(StandardCharsets.UTF_8));
      return;
    }
    out.write((header + " " + body.length + "\n").getBytes(StandardCharsets.UTF_8));
    out.write(body);
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
      if (b == '\n') return line.toString(StandardCharsets.UTF_8);
      line.write(b);
    }
  }
}
