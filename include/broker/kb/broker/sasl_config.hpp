#pragma once

#include <string>

#include "kb/broker/config.hpp"

namespace kb::broker {

// Reads the SASL keys of every SASL_PLAINTEXT/SASL_SSL listener into
// config.sasl (by listener name), each key looked up as Kafka looks it up:
// `listener.name.<listener>.<mechanism>.<key>` (mechanism keys), then
// `listener.name.<listener>.<key>`, then `<key>`; listener and mechanism
// lower-cased in the prefix. Every enabled mechanism needs its
// `listener.name.<listener>.<mechanism>.sasl.jaas.config` (there is no JAAS
// file). Returns the error that stops the broker, or "".
std::string read_sasl_config(BrokerConfig& config);

}  // namespace kb::broker
