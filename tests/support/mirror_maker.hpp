#pragma once

// MirrorMaker 2 in dedicated mode, as `connect-mirror-maker.sh mm2.properties
// --clusters <target>` runs it: `org.apache.kafka.connect.mirror.MirrorMaker`
// from the Java lab's mirror class path (classpath-mirror.txt, see
// java_lab.hpp) in a JVM of its own, its INFO log kept in `log()`.

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/jvm_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

class MirrorMakerProcess {
 public:
  // Starts MirrorMaker with `properties` as its mm2.properties, running only
  // the flows into `target_cluster` (the --clusters option: the herders of
  // other flows, which would write their own internal topics to the other
  // clusters, are not started).
  MirrorMakerProcess(const std::string& classpath, const std::string& properties,
                     const std::string& target_cluster)
      : jvm_("kb-mirror-maker-") {
    write_text_file(jvm_.dir() / "mm2.properties", properties);
    jvm_.start({"-Xmx512m"}, classpath, "org.apache.kafka.connect.mirror.MirrorMaker",
               {(jvm_.dir() / "mm2.properties").string(), "--clusters", target_cluster});
  }

  std::string log() const { return jvm_.log(); }
  bool alive() { return jvm_.alive(); }
  // SIGTERM (MirrorMaker's shutdown hook stops its connectors), then SIGKILL
  // after `bound`. True when it exited by itself within the bound.
  bool stop(std::chrono::seconds bound = std::chrono::seconds(30)) { return jvm_.stop(bound); }

 private:
  JvmProcess jvm_;
};

}  // namespace kb::testing
