// Structured logging: one line per event on stderr (journald collects it).
// Callers pass fields explicitly, so message content or secrets never slip in
// by accident through a format string.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace sealpost::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class Format { Text, Json };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <class N>
  requires std::is_arithmetic_v<N> Field(std::string_view k, N n)
      : key(k), value(std::to_string(n)) {}
};

void configure(Level min_level, Format format);
Level parse_level(std::string_view s, Level fallback);

// `event` is a short fixed identifier such as "smtp.accept" or "delivery.attempt".
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::Debug, e, f);
}
inline void info(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::Info, e, f);
}
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::Warn, e, f);
}
inline void error(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::Error, e, f);
}

}  // namespace sealpost::log
