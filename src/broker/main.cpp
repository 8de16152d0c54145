// The broker daemon: reads server.properties, listens, serves until SIGTERM or
// SIGINT, then stops accepting, writes out what is in flight and exits 0.

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "kb/broker/broker_service.hpp"
#include "kb/broker/check_command.hpp"
#include "kb/broker/config.hpp"
#include "kb/broker/descriptor_budget.hpp"
#include "kb/broker/dump_log.hpp"
#include "kb/broker/format_command.hpp"
#include "kb/broker/log_cleaning.hpp"
#include "kb/broker/log_dir_tools.hpp"
#include "kb/broker/log_flusher.hpp"
#include "kb/broker/log_retention.hpp"
#include "kb/broker/metrics_collectors.hpp"
#include "kb/broker/partition_dir_creation.hpp"
#include "kb/broker/share_group_link.hpp"
#include "kb/broker/startup_log_scan.hpp"
#include "kb/broker/tls_config.hpp"
#include "kb/broker/transaction_driver.hpp"
#include "kb/cluster/connection_quotas.hpp"
#include "kb/cluster/features.hpp"
#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/offsets_topic.hpp"
#include "kb/group/txn_offsets.hpp"
#include "kb/handlers/api_registry.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/http_server.hpp"
#include "kb/net/tcp_server.hpp"
#include "kb/storage/disk_space.hpp"
#include "kb/storage/file_cache.hpp"
#include "kb/storage/file_remover.hpp"
#include "kb/storage/roll_worker.hpp"
#include "kb/txn/coordinator.hpp"
#include "kb/txn/log_markers.hpp"
#include "kb/txn/transaction_topic.hpp"

namespace {

constexpr auto kShutdownBound = std::chrono::seconds(5);
// Threads that run fdatasync for the flusher, at most (started as needed): the
// syncs of different partitions overlap, and the filesystem commits them
// together. One per partition a request may wait on, up to this.
constexpr size_t kFlushThreads = 32;
// Threads that create new partitions' directories: their syncs overlap the
// same way, so a topic of thousands of partitions costs a few journal commits
// per batch of them rather than one per sync.
constexpr size_t kPartitionDirThreads = 8;
// The thread deleting retired segments' files yields the CPU to the loop, as
// does the one making segments' files ahead of their rolls.
constexpr int kFileRemoverNice = 10;
constexpr int kRollWorkerNice = 10;
// Threads making segments' files ahead of their rolls, at most (each
// partition directory's work on one of them): creating a file takes a busy
// file system milliseconds, and small segments roll hundreds of times a
// second.
constexpr size_t kRollThreads = 8;

void print_usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [server.properties] [--override key=value ...]\n"
               "       %s check LOG_DIR | [server.properties] [--override key=value ...]\n"
               "       %s recover-topics [server.properties] [--override key=value ...]\n"
               "       %s format -t CLUSTER_ID [server.properties] [--feature name=level ...]\n"
               "       %s dump-log --files FILE[,FILE...] [--print-data-log ...]\n"
               "       %s version\n"
               "Without a file the embedded defaults are used (PLAINTEXT://:9092,\n"
               "log.dirs=/tmp/kraft-combined-logs, node.id=1). Log level: SPDLOG_LEVEL=debug.\n"
               "check reports damage in the log directory without changing anything (exit\n"
               "status 1 when it finds some); recover-topics, with the broker stopped, puts\n"
               "topics whose partition directories the metadata log lost back into it;\n"
               "format writes meta.properties and the bootstrap snapshot as Kafka's\n"
               "kafka-storage.sh format does; dump-log prints log segments, indexes and\n"
               "metadata snapshots as Kafka's\n"
               "kafka-dump-log.sh does; version prints what this broker is and speaks.\n"
               "'<command> --help' describes each command.\n",
               argv0, argv0, argv0, argv0, argv0, argv0);
}

void print_command_help(std::string_view command, const char* argv0) {
  if (command == "check")
    std::printf(
        "usage: %s check LOG_DIR\n"
        "       %s check [server.properties] [--override key=value ...]\n"
        "With the broker stopped, verifies a log directory (LOG_DIR, or the one log.dirs\n"
        "names), writing nothing: meta.properties; the metadata log (every record decoded)\n"
        "and its snapshots; partition directories the metadata does not know; every\n"
        "segment's batches (CRCs, offsets) and what the next start's recovery would cut and\n"
        "why; offset and time indexes as kafka-dump-log.sh --verify-index-only and\n"
        "--index-sanity-check judge them; the recovery-point, log-start, replication and\n"
        "cleaner offset checkpoints against the logs. One DAMAGE line per finding.\n"
        "Exit status 0 when clean, 1 when damage was found, 2 when the directory or the\n"
        "configuration cannot be read.\n",
        argv0, argv0);
  else if (command == "recover-topics")
    std::printf(
        "usage: %s recover-topics [server.properties] [--override key=value ...]\n"
        "With the broker stopped, appends to the metadata log a TopicRecord and\n"
        "PartitionRecords for each topic whose partition directories outlived their\n"
        "metadata records (the id their partition.metadata names). Exit status 0 when\n"
        "every such topic was brought back.\n",
        argv0);
}

// What `version` prints: this build and what it speaks.
void print_version() {
  const kb::handlers::ApiRegistry registry = kb::handlers::make_broker_registry();
  std::printf("kafka-broker %s\n", KB_BUILD_VERSION);
  std::printf("Kafka protocol: %zu APIs served (ApiVersions lists them)\n",
              registry.entries().size());
  std::printf("Log format: Kafka's record batches (magic 2), KRaft metadata log\n");
  std::printf("metadata.version written to a new log: %d\n",
              static_cast<int>(kb::cluster::kBootstrapMetadataVersion));
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SIGTERM and SIGINT arrive through a descriptor, so they are handled in the
// loop like any other event.
class ShutdownSignal final : public kb::net::IoHandler {
 public:
  ShutdownSignal(kb::net::EventLoop& loop, std::function<void(int)> on_signal)
      : loop_(loop), on_signal_(std::move(on_signal)) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ >= 0) loop_.watch(fd_, EPOLLIN, this);
  }
  ~ShutdownSignal() override {
    if (fd_ >= 0) {
      loop_.unwatch(fd_);
      ::close(fd_);
    }
  }
  void on_io(uint32_t) override {
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info)))
      on_signal_(static_cast<int>(info.ssi_signo));
  }

 private:
  kb::net::EventLoop& loop_;
  std::function<void(int)> on_signal_;
  int fd_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  // No fastbins: glibc coalesces their chunks only when a larger allocation
  // comes, walking every small chunk freed since, which took the event loop
  // milliseconds at a time after retention freed thousands of segments.
  // Without them, frees coalesce as they happen.
  mallopt(M_MXFAST, 0);
  std::string config_path;
  std::vector<std::string> overrides;
  std::string command;
  int first_arg = 1;
  if (argc > 1) {
    const std::string_view first = argv[1];
    if (first == "version" || first == "--version") {
      if (argc > 2 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h"))
        std::printf("usage: %s version\nPrints this build's version and what it speaks.\n",
                    argv[0]);
      else
        print_version();
      return 0;
    }
    if (first == "format")
      return kb::broker::run_format(std::vector<std::string>(argv + 2, argv + argc), stdout,
                                    stderr);
    if (first == "dump-log")
      return kb::broker::run_dump_log(std::vector<std::string>(argv + 2, argv + argc), stdout,
                                      stderr);
    if (first == "check" || first == "recover-topics") {
      command = argv[1];
      first_arg = 2;
    }
  }
  for (int i = first_arg; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--override" && i + 1 < argc) {
      overrides.emplace_back(argv[++i]);
    } else if (arg == "-h" || arg == "--help") {
      if (command.empty())
        print_usage(argv[0]);
      else
        print_command_help(command, argv[0]);
      return 0;
    } else if (!arg.empty() && arg[0] != '-' && config_path.empty()) {
      config_path = arg;
    } else {
      std::fprintf(stderr, "unexpected argument '%s'\n", arg.c_str());
      print_usage(argv[0]);
      return 2;
    }
  }

  // `check LOG_DIR`: a directory instead of a configuration file.
  std::error_code arg_ec;
  if (command == "check" && !config_path.empty() && overrides.empty() &&
      std::filesystem::is_directory(config_path, arg_ec))
    return kb::broker::run_check(config_path, stdout);

  auto logger = spdlog::stderr_color_mt("broker");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] %^%l%$ %v");
  spdlog::cfg::load_env_levels();

  kb::broker::ConfigResult loaded = kb::broker::load_config(config_path, overrides);
  if (!loaded.config) {
    std::fprintf(stderr, "configuration error: %s\n", loaded.error.c_str());
    return 2;
  }
  kb::broker::BrokerConfig& config = *loaded.config;  // SASL listeners get the SCRAM users
  if (command == "check") return kb::broker::run_check(config.log_dirs.front(), stdout);
  if (command == "recover-topics") return kb::broker::run_recover_topics(config, stdout);
  for (const auto& [key, source] : config.properties)
    spdlog::debug("config {}={} ({})", key, source.value, source.origin);

  if (config.log_dirs.size() > 1)
    spdlog::warn("log.dirs names {} directories; only {} is used", config.log_dirs.size(),
                 config.log_dirs.front());
  kb::cluster::BrokerState state;
  state.log_config = config.log;
  state.auto_create_topics = config.auto_create_topics;
  state.authorizer.configure(config.authorizer);
  state.default_partitions = config.num_partitions;
  for (const auto& [key, source] : config.properties)
    if (source.origin != "default") state.static_configs[key] = source.value;
  kb::cluster::LogDirOptions log_dir_options;
  log_dir_options.log_dir = config.log_dirs.front();
  log_dir_options.node_id = config.node_id;
  log_dir_options.partition_options.segment_bytes = state.log_config.segment_bytes;
  log_dir_options.partition_options.index_interval_bytes = state.log_config.index_interval_bytes;
  log_dir_options.partition_options.roll_ms = state.log_config.roll_ms;
  log_dir_options.partition_options.preallocate_bytes = state.log_config.segment_preallocate_bytes;
  // Produce checks every batch's CRC before appending it: not twice.
  log_dir_options.partition_options.verify_crc_on_append = false;
  // Kafka's lock: one process per log directory.
  std::error_code dir_ec;
  std::filesystem::create_directories(log_dir_options.log_dir, dir_ec);
  const int log_dir_lock = kb::broker::lock_log_dir(log_dir_options.log_dir);
  if (log_dir_lock < 0) {
    std::fprintf(
        stderr, "log directory %s: cannot lock %s/.lock (%s): is another broker using it?\n",
        config.log_dirs.front().c_str(), config.log_dirs.front().c_str(), std::strerror(errno));
    return 2;
  }
  kb::cluster::MetadataSnapshotter metadata_snapshots(config.metadata_snapshots);
  state.metadata_snapshotter = &metadata_snapshots;

  // Descriptors: many clients and many partitions at once need many; the
  // budget keeps either from taking what the other and the disk work need.
  const kb::broker::DescriptorPlan descriptors = kb::broker::plan_descriptors(
      kb::broker::raise_descriptor_limit(), static_cast<uint64_t>(config.max_connections),
      kFlushThreads + kPartitionDirThreads + 1 + kRollThreads);
  spdlog::info(
      "file descriptors: limit {}: {} for connections{}, {} for partition files, {} kept for "
      "checkpoints, flushes and the broker's own files",
      descriptors.limit, descriptors.connections,
      descriptors.connections_capped ? " (max.connections capped to fit)" : "",
      descriptors.partition_files, descriptors.reserve);
  log_dir_options.partition_options.file_cache =
      std::make_shared<kb::storage::FileCache>(descriptors.partition_files);
  log_dir_options.partition_options.disk_space =
      std::make_shared<kb::storage::DiskSpace>(log_dir_options.log_dir);
  // Deleted segments' files are unlinked off the loop (freeing their blocks
  // takes milliseconds).
  log_dir_options.partition_options.file_remover =
      std::make_shared<kb::storage::FileRemover>(kFileRemoverNice);
  // Segment rolls find their files made and only rename them; the rolled
  // segment's last index entries are written there too.
  log_dir_options.partition_options.roll_worker =
      std::make_shared<kb::storage::RollWorker>(kRollThreads, kRollWorkerNice);
  if (auto loaded_dir = kb::cluster::load_log_dir(log_dir_options, state); !loaded_dir.ok()) {
    std::fprintf(stderr, "log directory %s: %s\n", config.log_dirs.front().c_str(),
                 loaded_dir.error().message.c_str());
    return 2;
  }

  // As Kafka's controller when this node's broker is unfenced: partitions a
  // controlled shutdown of Apache Kafka left without a leader get this node.
  if (state.metadata_log_refusal.empty()) {
    const kb::cluster::LeaderElection election = kb::cluster::elect_leaderless_partitions(state);
    if (election.elected > 0)
      spdlog::info("metadata log: this node elected leader of {} partitions that had none",
                   election.elected);
    if (!election.status.ok()) {
      std::fprintf(stderr, "log directory %s: electing leaders: %s\n",
                   config.log_dirs.front().c_str(), election.status.error().message.c_str());
      return 2;
    }
    if (!election.offline.empty())
      spdlog::error(
          "metadata log: {} partitions stay without a leader (this node is neither in their ISR "
          "nor, with an empty ISR, among their eligible leader replicas; Kafka elects none "
          "without unclean leader election): {}",
          election.offline.size(), fmt::join(election.offline, ", "));
  }

  // Groups and their committed offsets, from __consumer_offsets (offsets of
  // transactions still open kept pending).
  kb::group::OffsetsTopic offsets_topic(state, config.groups);
  kb::group::GroupCoordinator groups(config.groups, &offsets_topic);
  kb::group::TxnOffsets txn_offsets(groups, &offsets_topic.topic());
  if (auto loaded_groups = offsets_topic.load_into(groups, &txn_offsets); !loaded_groups.ok()) {
    std::fprintf(stderr, "loading groups: %s\n", loaded_groups.error().message.c_str());
    return 2;
  }
  groups.finish_load(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count());

  // Share groups' partitions (KIP-932), from __share_group_state: what each
  // group has delivered, every change written there.
  kb::share::ShareState shares(config.shares, static_cast<size_t>(config.share_max_sessions));
  kb::share::ShareStateTopic share_state_topic(state, config.share_coordinator);
  if (auto loaded_shares = share_state_topic.load_into(shares); !loaded_shares.ok()) {
    std::fprintf(stderr, "loading share-group state: %s\n", loaded_shares.error().message.c_str());
    return 2;
  }
  shares.set_store(&share_state_topic);

  // Transactions, from __transaction_state: a commit or abort a crash left
  // between its Prepare record and its markers completes here.
  kb::txn::TransactionTopic transaction_topic(state, config.transactions);
  kb::txn::LogMarkerWriter markers(state, &txn_offsets);
  kb::txn::TransactionCoordinator transactions(
      config.transactions, &transaction_topic, &markers, [&state]() -> std::optional<int64_t> {
        auto id = kb::cluster::allocate_producer_id(state);
        if (!id) {
          spdlog::error("allocating a producer id: {}", id.error().message);
          return std::nullopt;
        }
        return *id;
      });
  if (auto loaded_txns = transaction_topic.load_into(
          transactions, std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
      !loaded_txns.ok()) {
    std::fprintf(stderr, "loading transactions: %s\n", loaded_txns.error().message.c_str());
    return 2;
  }

  kb::net::EventLoop loop;
  kb::broker::TransactionDriver transaction_driver(loop, transactions);
  kb::broker::ShareGroupLink share_group_link(loop, state, groups, shares);
  // __share_group_state is pruned from the front (records every key's
  // latest snapshot made obsolete), as Kafka's share coordinator prunes it.
  std::function<void()> prune_share_state = [&] {
    share_state_topic.prune();
    loop.run_after(std::chrono::milliseconds(config.share_state_prune_interval_ms),
                   prune_share_state);
  };
  loop.run_after(std::chrono::milliseconds(config.share_state_prune_interval_ms),
                 prune_share_state);
  kb::handlers::ApiRegistry registry = kb::handlers::make_broker_registry();
  for (const auto& l : config.advertised_listeners)
    state.endpoints.push_back({l.name, l.host, l.port});
  kb::broker::LogFlusher flusher(loop, state, kFlushThreads);
  kb::broker::LogRetention retention(loop, state);
  kb::broker::LogCleaning cleaning(loop, state, kb::broker::LogCleaningOptions::from(state));
  kb::broker::PartitionDirCreation partition_dirs(loop, state, kPartitionDirThreads);
  // The gauges of partitions whose logs are not opened yet, read off the loop.
  kb::broker::StartupLogScan startup_log_scan(loop, state);
  // Partitions the metadata log names whose directories a crash (or a
  // shutdown during their creation) kept from being made.
  if (const size_t missing = kb::cluster::create_missing_partition_dirs(state); missing > 0)
    spdlog::info("creating {} missing partition directories", missing);
  // One service per listener: each knows its listener's name (Metadata
  // answers with that listener's advertised address) and keeps its own
  // connections' waiting requests (connection ids are per listener).
  // Every listener's clients count against the same quotas.
  kb::cluster::ClientQuotaManager client_quotas(
      state.client_quotas,
      {config.quota_window_num, int64_t{config.quota_window_size_seconds} * 1000});
  std::vector<std::unique_ptr<kb::broker::BrokerService>> services;
  // Connection creation rates: the broker's, each listener's and each
  // client address's (ip quotas), over the same windows.
  kb::cluster::ConnectionQuotas connection_quotas(
      state.client_quotas,
      {config.quota_window_num, int64_t{config.quota_window_size_seconds} * 1000},
      config.max_connection_creation_rate);
  for (const auto& listener : config.listeners) {
    auto rate = config.listener_connection_creation_rate.find(listener.name);
    connection_quotas.add_listener(
        listener.name,
        rate != config.listener_connection_creation_rate.end()
            ? rate->second
            : config.max_connection_creation_rate,
        config.listeners.size() > 1 && listener.name == config.inter_broker_listener);
  }

  kb::net::ServerOptions options;
  options.max_frame_size = static_cast<size_t>(config.socket_request_max_bytes);
  options.min_frame_size = 8;  // api key, api version, correlation id
  // max.connections (capped to the descriptor budget) is shared by the
  // listeners.
  options.max_connections = static_cast<size_t>(std::max<uint64_t>(
      descriptors.connections / std::max<size_t>(config.listeners.size(), 1), 1));
  options.output_high_water = static_cast<size_t>(config.socket_output_buffer_bytes);

  // Metrics: counted always (a few relaxed additions per request), served
  // only when kb.metrics.listener names an address.
  kb::metrics::BrokerMetrics metrics;
  flusher.set_flush_time_histogram(&metrics.log_flush());
  kb::broker::add_broker_collectors(metrics, state, &groups, &retention, &cleaning);
  kb::broker::add_client_quota_collector(metrics, client_quotas);
  kb::broker::add_event_loop_collector(metrics, loop);
  std::unique_ptr<kb::net::HttpServer> metrics_server;
  if (config.metrics_listener) {
    const auto& where = *config.metrics_listener;
    // A responder per connection: a scrape of many partitions keeps its
    // place there between the loop turns it is spread over.
    metrics_server = std::make_unique<kb::net::HttpServer>(
        loop, kb::net::HttpResponderFactory(
                  [&]() { return kb::broker::make_metrics_responder(metrics, loop, where.path); }));
    std::string error = metrics_server->listen({where.host, where.port});
    if (!error.empty()) {
      spdlog::critical("kb.metrics.listener: {}", error);
      return 1;
    }
    spdlog::info("Metrics on http://{}:{}{}", where.host.empty() ? "0.0.0.0" : where.host,
                 metrics_server->bound_port(), where.path);
  }

  std::vector<std::unique_ptr<kb::net::TcpServer>> servers;
  for (const auto& listener : config.listeners) {
    auto& service = *services.emplace_back(std::make_unique<kb::broker::BrokerService>(
        loop, registry, state, listener.name, &flusher, &groups));
    if (auto sasl = config.sasl.find(listener.name); sasl != config.sasl.end()) {
      sasl->second.scram_credentials = &state.scram_credentials;  // the metadata image's
      service.serve_sasl(&sasl->second);
    }
    service.serve_transactions(&transactions, &txn_offsets);
    service.serve_shares(&shares);
    service.set_metrics(&metrics);
    service.set_client_quotas(&client_quotas);
    kb::net::ServerOptions listener_options = options;
    listener_options.admit = [&connection_quotas, name = listener.name](std::string_view address) {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
      const auto a = connection_quotas.admit(name, address, now);
      return kb::net::ServerOptions::Admission{std::chrono::milliseconds(a.delay_ms),
                                               std::chrono::milliseconds(a.close_after_ms)};
    };
    // SASL_SSL: SASL (above) over the TLS transport.
    if (listener.protocol == kb::broker::SecurityProtocol::kSsl ||
        listener.protocol == kb::broker::SecurityProtocol::kSaslSsl) {
      std::string tls_error;
      auto tls = kb::broker::build_listener_tls(config, listener.name, tls_error);
      if (!tls) {
        // A configuration error, like parse_config's.
        spdlog::critical("{}", tls_error);
        return 2;
      }
      listener_options.tls = tls->context;
      service.set_ssl_principal_mapper(tls->principal_mapper);
      if (tls->context->kernel_tls())
        spdlog::info("listener {}: kernel TLS enabled where the cipher allows", listener.name);
    }
    auto server = std::make_unique<kb::net::TcpServer>(loop, service, listener_options);
    std::string error = server->listen({listener.host, listener.port});
    if (!error.empty()) {
      spdlog::critical("listener {}: {}", listener.name, error);
      return 1;
    }
    spdlog::info("Listening on {}://{}:{}", listener.name,
                 listener.host.empty() ? "0.0.0.0" : listener.host, server->bound_port());
    // An advertised listener on port 0 announces the port actually bound.
    for (auto& e : state.endpoints)
      if (e.name == listener.name && e.port == 0) e.port = server->bound_port();
    servers.push_back(std::move(server));
  }
  for (auto& service : services)
    partition_dirs.add_listener([&service = *service] { service.partition_dirs_created(); });

  bool disk_failed = false;
  flusher.on_disk_failure([&](const std::string&) {
    disk_failed = true;
    spdlog::critical(
        "stopping: the log directory {} failed (as Kafka stops a broker with no log directory "
        "left); the next start recovers it",
        config.log_dirs.front());
    loop.stop();
  });
  bool shutting_down = false;
  ShutdownSignal signals(loop, [&](int signo) {
    if (shutting_down) return;
    shutting_down = true;
    spdlog::info("signal {}: shutting down", signo);
    for (auto& service : services) service->complete_waiting();
    // Held CreateTopics/CreatePartitions answers go out: the topics exist,
    // and the next start creates the directories still missing.
    partition_dirs.stop();
    startup_log_scan.stop();
    // Responses waiting for flushes go out before the connections close.
    flusher.finish();
    for (auto& s : servers) s->drain();
    loop.run_after(kShutdownBound, [&] {
      spdlog::warn("shutdown: output still pending after {} s, closing", kShutdownBound.count());
      loop.stop();
    });
  });
  // A metadata snapshot being written on its helper thread is looked at now
  // and then: once written, its retention runs here, and the next one starts
  // if it is due.
  constexpr auto kSnapshotPollInterval = std::chrono::milliseconds(20);
  bool snapshot_poll_armed = false;
  std::function<void()> poll_snapshots = [&] {
    snapshot_poll_armed = false;
    metadata_snapshots.poll(state, wall_ms());
    if (metadata_snapshots.writing()) {
      snapshot_poll_armed = true;
      loop.run_after(kSnapshotPollInterval, poll_snapshots);
    }
  };
  loop.add_before_sleep([&] {
    if (metadata_snapshots.writing() && !snapshot_poll_armed) {
      snapshot_poll_armed = true;
      loop.run_after(kSnapshotPollInterval, poll_snapshots);
    }
  });
  loop.add_before_sleep([&] {
    if (!shutting_down) return;
    size_t open = 0;
    for (auto& s : servers) open += s->connection_count();
    if (open == 0) loop.stop();
  });

  spdlog::info("broker {} of cluster {} started (log dir {})", config.node_id, state.cluster_id,
               config.log_dirs.front());
  loop.run();
  partition_dirs.stop();
  startup_log_scan.stop();
  // No clean shutdown after a disk failure: no marker vouches for the logs.
  if (disk_failed) return 1;
  flusher.finish();
  metadata_snapshots.finish(state, wall_ms());
  // Producer snapshots before the clean-shutdown marker that vouches for the logs.
  state.producer_states.write_snapshots();
  if (auto closed = kb::cluster::close_log_dir(state); !closed) {
    spdlog::error("log directory not closed cleanly (the next start recovers it): {}",
                  closed.error().message);
    return 1;
  }
  spdlog::info("broker stopped");
  return 0;
}
