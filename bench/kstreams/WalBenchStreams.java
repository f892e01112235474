import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams app of wal's `kstreams` bench (bench/kstreams.ts): what a Kafka user would write
 * instead of wal's delayed queue, to compare the two on the same broker and the same intake records.
 *
 *   java -cp <classes>:<kafka-streams classpath> WalBenchStreams passthrough|delay <bootstrap> <input>
 *     <output> <application.id> <state.dir> <threads> <commit.interval.ms> <statestore.cache.max.bytes>
 *
 * passthrough: source → sink, bytes as they are. delay: the shape of wal's timer store, delay 0: each
 * record goes into a persistent (RocksDB, changelogged) key-value store keyed by due time + id (the
 * record key); a 100 ms wall-clock punctuator forwards the due entries to the output and deletes them.
 * At-least-once. Prints "WalBenchStreams RUNNING cpuNanos=<n>" when it first reaches RUNNING, so that
 * the bench counts the JVM's CPU from there (not its start-up and group join).
 */
public final class WalBenchStreams {
  private static final String STORE = "timers";
  private static final long PUNCTUATION_MS = 100;
  private static final long DELAY_MS = 0;

  /** Each record waits in the store until its due time; the punctuator hands it on. */
  static final class DelayProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<Bytes, byte[]> timers;

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
      this.context = context;
      this.timers = context.getStateStore(STORE);
      context.schedule(Duration.ofMillis(PUNCTUATION_MS), PunctuationType.WALL_CLOCK_TIME, this::fireDue);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      byte[] id = record.key() == null ? new byte[0] : record.key();
      long due = context.currentSystemTimeMs() + DELAY_MS;
      timers.put(Bytes.wrap(ByteBuffer.allocate(8 + id.length).putLong(due).put(id).array()), record.value());
    }

    /** Big-endian due times order the keys by time: every key below (now + 1) is due. */
    private void fireDue(long now) {
      List<Bytes> fired = new ArrayList<>();
      Bytes from = Bytes.wrap(new byte[8]);
      Bytes to = Bytes.wrap(ByteBuffer.allocate(8).putLong(now + 1).array());
      try (KeyValueIterator<Bytes, byte[]> due = timers.range(from, to)) {
        while (due.hasNext()) {
          KeyValue<Bytes, byte[]> entry = due.next();
          byte[] key = entry.key.get();
          if (key.length < 8 || ByteBuffer.wrap(key, 0, 8).getLong() > now) continue;
          context.forward(new Record<>(Arrays.copyOfRange(key, 8, key.length), entry.value, now));
          fired.add(entry.key);
        }
      }
      for (Bytes key : fired) timers.delete(key);
    }
  }

  private static long cpuNanos() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) {
    if (args.length != 9 || !(args[0].equals("passthrough") || args[0].equals("delay"))) {
      System.err.println("usage: WalBenchStreams passthrough|delay <bootstrap> <input> <output> <application.id> <state.dir> <threads> <commit.interval.ms> <cache.max.bytes>");
      System.exit(2);
    }
    String mode = args[0];
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[4]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[6]));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(args[7]));
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Long.parseLong(args[8]));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    Topology topology = new Topology();
    topology.addSource("intake", new ByteArrayDeserializer(), new ByteArrayDeserializer(), args[2]);
    String last = "intake";
    if (mode.equals("delay")) {
      topology.addProcessor("delay", DelayProcessor::new, "intake");
      topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.Bytes(), Serdes.ByteArray()), "delay");
      last = "delay";
    }
    topology.addSink("out", args[3], new ByteArraySerializer(), new ByteArraySerializer(), last);

    KafkaStreams streams = new KafkaStreams(topology, props);
    boolean[] reported = {false};
    streams.setStateListener((next, previous) -> {
      if (next == KafkaStreams.State.RUNNING && !reported[0]) {
        reported[0] = true;
        System.out.println("WalBenchStreams RUNNING cpuNanos=" + cpuNanos());
        System.out.flush();
      }
      if (next == KafkaStreams.State.ERROR) {
        System.out.println("WalBenchStreams ERROR");
        System.out.flush();
        // Not from the listener's thread: exit runs the shutdown hook, which closes the client.
        new Thread(() -> System.exit(1)).start();
      }
    });
    streams.setUncaughtExceptionHandler(error -> {
      error.printStackTrace();
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> streams.close(Duration.ofSeconds(30))));
    streams.start();
  }
}
