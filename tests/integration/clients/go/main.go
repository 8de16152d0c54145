// Command kblab runs the Go client lab's scenarios against a broker, with
// franz-go or Sarama, and prints what the client saw, one fact a line, for
// tests/integration/go_clients_test.cpp to compare with what Kafka does.
//
//	kblab <franz|sarama> version
//	kblab <client> produce <bootstrap> <topic> <0|1|all>
//	    per codec (none gzip snappy lz4 zstd) a producer with these acks
//	    (idempotent with acks=all) sends six records in one batch: four
//	    keyed with two headers, one null value, one null key
//	kblab <client> read <bootstrap> <topic> <count>
//	    reads partition 0 from the start by assignment
//	kblab <client> group <bootstrap> <topic> <group> <partitions> [classic|consumer]
//	    three members share the topic; one leaves; the other two take over
//	    (consumer: KIP-848's protocol, franz-go only)
//	kblab <client> commit <bootstrap> <topic> <group> <count>
//	    one group member reads count records, commits them, leaves
//	kblab <client> times <bootstrap> <topic> <codec> <base ms>
//	    twenty records stamped base+i*1000 in one batch, then offsets by time
//	kblab <client> create <bootstrap> <topic> <partitions>
//	kblab <client> admin <bootstrap> <prefix>
//	    create, list, alter (partitions, configs), describe configs, delete
//	kblab <client> transact <bootstrap> <in> <out> <group> <count>
//	    consume-transform-produce in transactions, one round in four
//	    aborted; then what read_committed and read_uncommitted see
//
// Errors from the broker are printed as Kafka's error codes; anything the
// driver cannot go on after goes to stderr with exit status 1.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Every wait is bounded, so a broker that does not answer fails the test.
const deadline = 30 * time.Second

var codecs = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// A record as the scenarios send and print it; nil is Kafka's null.
type record struct {
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   [][2]string
	timestamp int64
}

func (r record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:%d key=%s value=%s", r.partition, r.offset, nullable(r.key), nullable(r.value))
	for _, h := range r.headers {
		fmt.Fprintf(&b, " %s=%s", h[0], h[1])
	}
	return b.String()
}

func nullable(b []byte) string {
	if b == nil {
		return "null"
	}
	return string(b)
}

// The six records of one codec in the produce scenario.
func codecRecords(codec string) []record {
	pad := strings.Repeat("x", 64)
	var rs []record
	for i := 0; i < 4; i++ {
		rs = append(rs, record{
			key:     []byte(fmt.Sprintf("%s-k%d", codec, i)),
			value:   []byte(fmt.Sprintf("%s-v%d-%s", codec, i, pad)),
			headers: [][2]string{{"codec", codec}, {"index", strconv.Itoa(i)}},
		})
	}
	rs = append(rs, record{key: []byte(codec + "-k4")})
	rs = append(rs, record{value: []byte(codec + "-no-key")})
	return rs
}

// The ListOffsets timestamps asked in the times scenario, after its base.
var timeQueries = []int64{0, 500, 5000, 19000, 19001}

// The configs the admin scenario reads back.
var describedConfigs = []string{"cleanup.policy", "max.message.bytes", "retention.ms"}

// Kafka's names of DescribeConfigs sources.
func sourceName(source int8) string {
	names := map[int8]string{
		0: "UNKNOWN", 1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG",
		3: "DYNAMIC_DEFAULT_BROKER_CONFIG", 4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG",
		6: "DYNAMIC_BROKER_LOGGER_CONFIG",
	}
	if n, ok := names[source]; ok {
		return n
	}
	return strconv.Itoa(int(source))
}

// What a client does for the scenarios.
type client interface {
	produce(bootstrap, topic, acks string) error
	read(bootstrap, topic string, count int) error
	group(bootstrap, topic, group string, partitions int, protocol string) error
	commit(bootstrap, topic, group string, count int) error
	times(bootstrap, topic, codec string, base int64) error
	admin(bootstrap, prefix string) error
	create(bootstrap, topic string, partitions int) error
	transact(bootstrap, in, out, group string, count int) error
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			return m.Version
		}
	}
	return "unknown"
}

func sortedInts(set map[int32]bool) []int32 {
	var out []int32
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func joinInts[T int32 | int64 | int](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(int64(x), 10)
	}
	return strings.Join(parts, " ")
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: %q", s)
	}
	return n
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: kblab <franz|sarama> <scenario> <args...>")
	}
	var c client
	switch os.Args[1] {
	case "franz":
		c = franz{}
	case "sarama":
		c = saramaClient{}
	default:
		fail("unknown client %q", os.Args[1])
	}
	args := os.Args[3:]
	need := func(n int) {
		if len(args) != n {
			fail("%s takes %d arguments", os.Args[2], n)
		}
	}
	var err error
	switch os.Args[2] {
	case "version":
		if os.Args[1] == "franz" {
			say("%s %s", moduleVersion("github.com/twmb/franz-go"),
				moduleVersion("github.com/twmb/franz-go/pkg/kadm"))
		} else {
			say("%s", moduleVersion("github.com/IBM/sarama"))
		}
	case "produce":
		need(3)
		err = c.produce(args[0], args[1], args[2])
	case "read":
		need(3)
		err = c.read(args[0], args[1], atoi(args[2]))
	case "group":
		protocol := "classic"
		if len(args) == 5 {
			protocol = args[4]
		} else {
			need(4)
		}
		if protocol != "classic" && protocol != "consumer" {
			fail("unknown group protocol %q", protocol)
		}
		err = c.group(args[0], args[1], args[2], atoi(args[3]), protocol)
	case "commit":
		need(4)
		err = c.commit(args[0], args[1], args[2], atoi(args[3]))
	case "times":
		need(4)
		err = c.times(args[0], args[1], args[2], int64(atoi(args[3])))
	case "create":
		need(3)
		err = c.create(args[0], args[1], atoi(args[2]))
	case "admin":
		need(2)
		err = c.admin(args[0], args[1])
	case "transact":
		need(5)
		err = c.transact(args[0], args[1], args[2], args[3], atoi(args[4]))
	default:
		fail("unknown scenario %q", os.Args[2])
	}
	if err != nil {
		fail("%s %s: %v", os.Args[1], os.Args[2], err)
	}
}
