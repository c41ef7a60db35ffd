#pragma once
/// Small string helpers shared by config, io and the apps.

#include <string>
#include <string_view>
#include <vector>

namespace sp {

/// Levenshtein edit distance (insertions, deletions, substitutions, each cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` by edit distance, if it is close enough to be a plausible typo
/// (distance <= max(2, |word| / 3)); empty otherwise. Ties go to the first candidate.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// `parts` joined by `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// `s` split at every `sep`.
std::vector<std::string> split(std::string_view s, char sep);

/// `s` with backslash, tab, newline and carriage return written as \\, \t, \n, \r: one field
/// of a tab-separated line, whatever it holds. unescape_field() reads it back.
std::string escape_field(std::string_view s);

/// The text escape_field() was given. A backslash before any other character, or at the end,
/// stands for itself.
std::string unescape_field(std::string_view s);

/// A double printed with the fewest digits that read back to the same value ("0.001", "1e-05").
std::string format_double(double v);

} // namespace sp
