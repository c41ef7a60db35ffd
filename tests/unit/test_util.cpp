// util/: the seed mixer and generator, SHA-256, string helpers, clock formats and error codes,
// against independent values.
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/rng.hpp"
#include "sp/util/strings.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <unistd.h>
#include <vector>

namespace {

// Rule: splitmix64 matches the reference sequence. The reference generator's state starts at
// seed and each output is splitmix64(state_before_increment); for seed 1234567 the first outputs
// are those published with the reference implementation (xoshiro/splitmix64.c test vector).
TEST(SplitMix64, MatchesReferenceSequence) {
    std::uint64_t state = 1234567;
    const std::uint64_t expected[] = {6457827717110365317ULL, 3203168211198807973ULL,
                                      9817491932198370423ULL, 4593380528125082431ULL,
                                      16408922859458223821ULL};
    for (std::uint64_t e : expected) {
        EXPECT_EQ(sp::splitmix64(state), e);
        state += 0x9E3779B97F4A7C15ULL;
    }
}

TEST(MixSeed, IsOrderSensitiveAndSpreads) {
    EXPECT_NE(sp::mix_seed(1, 2), sp::mix_seed(2, 1));
    std::set<std::uint64_t> seen;
    for (std::uint64_t a = 0; a < 50; ++a)
        for (std::uint64_t b = 0; b < 50; ++b) seen.insert(sp::mix_seed(a, b));
    EXPECT_EQ(seen.size(), 2500U);
}

// ---- SplitMixRng: the reference SplitMix64 sequence, unbiased bounded draws -----------------

TEST(SplitMixRng, MatchesTheReferenceSequenceForSeedZero) {
    // First outputs of Vigna's splitmix64.c with x = 0.
    sp::SplitMixRng rng(0);
    EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFULL);
    EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ULL);
    EXPECT_EQ(rng.next(), 0x06C45D188009454FULL);
}

TEST(SplitMixRng, BelowStaysInRangeAndCoversIt) {
    sp::SplitMixRng rng(42);
    EXPECT_EQ(rng.below(1), 0U);
    EXPECT_EQ(rng.below(0), 0U);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 70000; ++i) {
        const std::uint64_t v = rng.below(7);
        ASSERT_LT(v, 7U);
        ++hits[v];
    }
    // 10000 expected per value; 5 standard deviations is about 460.
    for (const int h : hits) EXPECT_NEAR(h, 10000, 500);
    const std::uint64_t big = (std::uint64_t{1} << 63) + 12345;
    for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.below(big), big);
}

TEST(SplitMixRng, UniformIsTheCentreOfA53BitCell) {
    // (next() >> 11 + 0.5) * 2^-53 from the same stream: strictly inside (0, 1).
    sp::SplitMixRng a(7);
    sp::SplitMixRng b(7);
    for (int i = 0; i < 1000; ++i) {
        const double expected = (static_cast<double>(b.next() >> 11U) + 0.5) * 0x1.0p-53;
        const double u = a.uniform();
        EXPECT_EQ(u, expected);
        EXPECT_GT(u, 0.0);
        EXPECT_LT(u, 1.0);
    }
}

// ---- clock: durations for humans and the UTC timestamp format ---------------------------------

TEST(FormatDuration, SecondsMinutesHours) {
    EXPECT_EQ(sp::format_duration(0.0), "0s");
    EXPECT_EQ(sp::format_duration(12.0), "12s");
    EXPECT_EQ(sp::format_duration(59.4), "59s");
    EXPECT_EQ(sp::format_duration(59.5), "1m00s"); // rounded to whole seconds first
    EXPECT_EQ(sp::format_duration(185.0), "3m05s");
    EXPECT_EQ(sp::format_duration(3599.0), "59m59s");
    EXPECT_EQ(sp::format_duration(3600.0), "1h00m");
    EXPECT_EQ(sp::format_duration(3725.0), "1h02m"); // seconds dropped above an hour
    EXPECT_EQ(sp::format_duration(36.0 * 3600), "36h00m");
}

TEST(UtcNow, IsIso8601WholeSecondsZulu) {
    const std::string t = sp::utc_now_iso8601();
    EXPECT_TRUE(std::regex_match(t, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"))) << t;
}

TEST(SecondsSince, IsNonNegativeAndSmallForNow) {
    const double s = sp::seconds_since(std::chrono::steady_clock::now());
    EXPECT_GE(s, 0.0);
    EXPECT_LT(s, 60.0);
}

// Rule: SHA-256 matches FIPS 180-4 examples (including the two-block padding case).
TEST(Sha256, MatchesFipsVectors) {
    EXPECT_EQ(sp::sha256_hex(""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sp::sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sp::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sp::sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(sp::sha256_hex("abc", 8), "ba7816bf8f01cfea");
}

TEST(Sha256, AgreesWithPythonHashlibOnEveryPaddingLength) {
    // Lengths 0..130 cross every padding boundary (55/56/63/64 bytes and their multiples).
    std::string all;
    for (int n = 0; n <= 130; ++n)
        all += sp::sha256_hex(std::string(static_cast<std::size_t>(n), 'x')) + "\n";
    const std::string py =
        "/usr/bin/python3 -c \"import hashlib;print(''.join(hashlib.sha256(b'x'*n)"
        ".hexdigest()+chr(10) for n in range(131)),end='')\"";
    FILE* p = popen(py.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ASSERT_EQ(pclose(p), 0);
    EXPECT_EQ(all, out);
}

// Rule: MD5 matches the test suite of RFC 1321, appendix A.5.
TEST(Md5, MatchesRfc1321Suite) {
    EXPECT_EQ(sp::md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(sp::md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
    EXPECT_EQ(sp::md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(sp::md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
    EXPECT_EQ(sp::md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
    EXPECT_EQ(sp::md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
              "d174ab98d277d9f5a5611c2c9f419d9f");
    EXPECT_EQ(sp::md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890"
                          "1234567890"),
              "57edf4a22be3c955ac49da2e2107b67a");
}

// Rule: the file digests stream the file (pieces of 1 MiB) and equal the digests of its bytes;
// a missing file is an IoError naming it.
TEST(FileDigests, EqualTheDigestsOfTheBytes) {
    const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                             "/sp_test_util_digest_" + std::to_string(::getpid()) + ".bin";
    std::string bytes((std::size_t{1} << 20U) + 1000, '\0'); // crosses a piece boundary
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 13 % 256);
    {
        FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
        std::fclose(f);
    }
    EXPECT_EQ(sp::file_sha256_hex(path), sp::sha256_hex(bytes));
    EXPECT_EQ(sp::file_md5_hex(path), sp::md5_hex(bytes));
    std::remove(path.c_str());
    try {
        (void)sp::file_sha256_hex(path);
        FAIL() << "expected an IoError";
    } catch (const sp::IoError& e) {
        EXPECT_EQ(std::string(e.what()), path + ": no such file");
    }
}

// Rule: incremental SHA-256 equals the one-shot digest however the message is cut into pieces.
TEST(Sha256, IncrementalEqualsOneShot) {
    std::string message;
    for (int i = 0; i < 1000; ++i) message += static_cast<char>((i * 131 + 7) % 256);
    for (std::size_t len : {0U, 1U, 55U, 56U, 63U, 64U, 65U, 119U, 120U, 128U, 1000U}) {
        const std::string_view m(message.data(), len);
        for (std::size_t piece : {1U, 3U, 63U, 64U, 65U, 200U}) {
            sp::Sha256 h;
            for (std::size_t off = 0; off < len; off += piece) h.update(m.substr(off, piece));
            h.update({});
            EXPECT_EQ(h.finish_hex(), sp::sha256_hex(m)) << "length " << len << ", piece " << piece;
        }
    }
}

TEST(EditDistance, HandComputed) {
    EXPECT_EQ(sp::edit_distance("", ""), 0U);
    EXPECT_EQ(sp::edit_distance("kitten", "sitting"), 3U);
    EXPECT_EQ(sp::edit_distance("epochs", "epoch"), 1U);
    EXPECT_EQ(sp::edit_distance("abc", ""), 3U);
}

TEST(DidYouMean, SuggestsCloseKeysOnly) {
    const std::vector<std::string> keys = {"epochs", "batch_size", "lr", "optimizer"};
    EXPECT_EQ(sp::did_you_mean("epoch", keys), "epochs");
    EXPECT_EQ(sp::did_you_mean("batchsize", keys), "batch_size");
    EXPECT_EQ(sp::did_you_mean("completely_unrelated", keys), "");
}

TEST(FormatDouble, ShortestRoundTrip) {
    EXPECT_EQ(sp::format_double(0.001), "0.001");
    EXPECT_EQ(sp::format_double(1e-3), "0.001");
    EXPECT_EQ(sp::format_double(2.0), "2.0");
    EXPECT_EQ(sp::format_double(0.1), "0.1");
    EXPECT_EQ(sp::format_double(1.0 / 3.0), "0.3333333333333333");
    EXPECT_EQ(std::strtod(sp::format_double(1e-300).c_str(), nullptr), 1e-300);
}

// Rule: a field with tabs, newlines, carriage returns and backslashes escapes to one line without
// tabs and reads back unchanged (the outcome transport between ranks). Hand-written expectations.
TEST(Strings, EscapedFieldIsOneLineAndRoundTrips) {
    const std::string message = "HDF5 error:\n\t#000: H5F.c line 1\r\nC:\\path\\n";
    const std::string escaped = sp::escape_field(message);
    EXPECT_EQ(escaped, "HDF5 error:\\n\\t#000: H5F.c line 1\\r\\nC:\\\\path\\\\n");
    EXPECT_EQ(escaped.find_first_of("\t\n\r"), std::string::npos);
    EXPECT_EQ(sp::unescape_field(escaped), message);
    EXPECT_EQ(sp::unescape_field("plain"), "plain");
    EXPECT_EQ(sp::unescape_field("end\\"), "end\\"); // a lone trailing backslash
    EXPECT_EQ(sp::unescape_field("a\\qb"), "a\\qb"); // an unknown escape stands for itself
}

TEST(Errors, CarryTheDocumentedExitCodes) {
    EXPECT_EQ(sp::ConfigError("x").exit_code(), 2);
    EXPECT_EQ(sp::DataError("x").exit_code(), 2);
    EXPECT_EQ(sp::IoError("x").exit_code(), 2);
    EXPECT_EQ(sp::MpiError("x").exit_code(), 1);
    EXPECT_EQ(static_cast<int>(sp::ExitCode::requeue), 75);
    try {
        SP_CHECK(1 + 1 == 3, "arithmetic");
        FAIL() << "SP_CHECK did not throw";
    } catch (const sp::InternalError& e) {
        EXPECT_NE(std::string(e.what()).find("arithmetic"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("test_util.cpp"), std::string::npos);
    }
}

} // namespace
