// A minimal JSON reader, enough for manifest.json as Python's json.dumps writes it (NaN and Infinity included).
// Objects keep their keys in order; a missing key reads as null. Throws std::runtime_error on malformed text.
#pragma once

#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace manifest_json {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  double number = 0;
  std::string text;               // String
  std::vector<Json> items;        // Array elements, or Object values
  std::vector<std::string> keys;  // Object keys, parallel to items

  const Json& operator[](const std::string& key) const {
    static const Json missing;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return items[i];
    return missing;
  }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : s_(text) {}

  Json document() {
    Json value = read();
    skip_space();
    if (pos_ != s_.size()) error("unexpected trailing text");
    return value;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;

  [[noreturn]] void error(const std::string& what) const {
    throw std::runtime_error("manifest.json: " + what + " at byte " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool take(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) return ++pos_, true;
    return false;
  }
  void expect(char c) {
    if (!take(c)) error(std::string("expected '") + c + "'");
  }

  Json read() {
    skip_space();
    if (pos_ >= s_.size()) error("unexpected end");
    Json v;
    char c = s_[pos_];
    if (c == '{') {
      v.kind = Json::Object;
      ++pos_;
      if (take('}')) return v;
      do {
        skip_space();
        v.keys.push_back(read_string());
        expect(':');
        v.items.push_back(read());
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      v.kind = Json::Array;
      ++pos_;
      if (take(']')) return v;
      do v.items.push_back(read());
      while (take(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::String;
      v.text = read_string();
    } else if (s_.compare(pos_, 4, "true") == 0 || s_.compare(pos_, 5, "false") == 0) {
      v.kind = Json::Bool;
      v.number = c == 't';
      pos_ += c == 't' ? 4 : 5;
    } else if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
    } else {  // strtod also reads NaN, Infinity and -Infinity
      char* end = nullptr;
      v.kind = Json::Number;
      v.number = std::strtod(s_.c_str() + pos_, &end);
      if (end == s_.c_str() + pos_) error("unexpected character");
      pos_ = end - s_.c_str();
    }
    return v;
  }

  std::string read_string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') error("expected a string");
    std::string out;
    for (++pos_; pos_ < s_.size() && s_[pos_] != '"'; ++pos_) {
      if (s_[pos_] != '\\') {
        out += s_[pos_];
        continue;
      }
      char e = ++pos_ < s_.size() ? s_[pos_] : '\0';
      if (e == 'u') {  // \uXXXX (json.dumps escapes all non-ASCII) -> UTF-8; names are for display only
        if (pos_ + 4 >= s_.size()) error("bad \\u escape");
        unsigned code = std::stoul(s_.substr(pos_ + 1, 4), nullptr, 16);
        pos_ += 4;
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
      } else {
        const std::string from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
        size_t k = from.find(e);
        if (k == std::string::npos) error("bad escape");
        out += to[k];
      }
    }
    if (pos_ >= s_.size()) error("unterminated string");
    ++pos_;
    return out;
  }
};

}  // namespace manifest_json
