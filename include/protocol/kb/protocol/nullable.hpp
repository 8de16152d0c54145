#pragma once

// A field that may be null in some versions of its message and not in others
// (Kafka's "nullableVersions" narrower than "versions"). The generated
// messages read and write it through maybe_null(): at a version where null is
// not allowed, decoding refuses a null as Kafka's readers do, and encoding
// writes the empty value for an unset field (Kafka's default there), never a
// null that Kafka would refuse.

#include <optional>
#include <type_traits>

#include "kb/wire/serde.hpp"

namespace kb::protocol {

template <class Io, class T>
void maybe_null(Io& io, std::optional<T>& field, bool null_allowed) {
  if (null_allowed) {
    io(field);
  } else if constexpr (std::is_same_v<Io, wire::Decoder>) {
    io(field);
    if (io.reader().ok() && !field) io.reader().fail("null where this version does not allow it");
  } else if constexpr (std::is_same_v<Io, wire::Encoder>) {
    if (field) {
      io(field);
    } else {
      T empty{};
      io(empty);
    }
  } else {
    io(field);  // anything else that walks the fields (test fillers)
  }
}

}  // namespace kb::protocol
