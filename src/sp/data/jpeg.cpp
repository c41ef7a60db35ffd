#include "sp/data/jpeg.hpp"

#include "sp/util/error.hpp"

#include <turbojpeg.h>

namespace sp {
namespace {

const unsigned char* as_jpeg(std::string_view bytes) {
    return reinterpret_cast<const unsigned char*>(bytes.data());
}

std::string corrupt(const std::string& name, void* handle) {
    return name + ": corrupt JPEG: " + tjGetErrorStr2(handle);
}

} // namespace

void JpegDecoder::Destroy::operator()(void* handle) const { tjDestroy(handle); }

JpegDecoder::JpegDecoder() { fresh_handle(); }

void JpegDecoder::fresh_handle() {
    handle_.reset(tjInitDecompress());
    if (!handle_) {
        throw InternalError(std::string("tjInitDecompress failed: ") + tjGetErrorStr2(nullptr));
    }
    used_ = false;
}

JpegDecoder::Size JpegDecoder::size(std::string_view jpeg, const std::string& name) {
    // A TurboJPEG handle carries state from one datastream to the next: tables (by design, for
    // abbreviated streams) and, after an error, a half-read header. Each file must decode on its
    // own, whatever this thread decoded before, so each gets a fresh handle (about a
    // microsecond, against tens for the decode).
    if (used_) fresh_handle();
    used_ = true;
    if (jpeg.empty()) throw DataError(name + ": corrupt JPEG: empty file");
    Size s;
    int subsampling = 0;
    int colorspace = 0;
    if (tjDecompressHeader3(handle_.get(), as_jpeg(jpeg), jpeg.size(), &s.width, &s.height,
                            &subsampling, &colorspace) != 0) {
        throw DataError(corrupt(name, handle_.get()));
    }
    if (s.width < 1 || s.height < 1) {
        throw DataError(name + ": corrupt JPEG: no image in the datastream (tables only)");
    }
    return s;
}

void JpegDecoder::decode_planar_rgb(std::string_view jpeg, const std::string& name, int width,
                                    int height, std::uint8_t* planar) {
    const Size s = size(jpeg, name);
    if (s.width != width || s.height != height) {
        throw DataError(name + ": image is " + std::to_string(s.width) + " x " +
                        std::to_string(s.height) + " pixels, expected " + std::to_string(width) +
                        " x " + std::to_string(height));
    }
    const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    interleaved_.resize(3 * pixels);
    // Default flags: accurate integer DCT and fancy upsampling, libjpeg's own defaults (what PIL
    // and torchvision decode with). STOPONWARNING: a truncated file is an error, not grey rows.
    if (tjDecompress2(handle_.get(), as_jpeg(jpeg), jpeg.size(), interleaved_.data(), width,
                      /*pitch=*/0, height, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
        throw DataError(corrupt(name, handle_.get()));
    }
    for (std::size_t p = 0; p < pixels; ++p) {
        planar[p] = interleaved_[3 * p];
        planar[pixels + p] = interleaved_[3 * p + 1];
        planar[2 * pixels + p] = interleaved_[3 * p + 2];
    }
}

std::string encode_jpeg(const std::uint8_t* pixels, int width, int height, int channels,
                        int quality) {
    SP_CHECK(channels == 1 || channels == 3, "encode_jpeg takes 1 or 3 channels");
    std::unique_ptr<void, void (*)(void*)> handle(tjInitCompress(), [](void* h) { tjDestroy(h); });
    if (!handle) throw InternalError("tjInitCompress failed");
    unsigned char* out = nullptr;
    unsigned long out_size = 0;
    const int rc = tjCompress2(handle.get(), pixels, width, /*pitch=*/0, height,
                               channels == 1 ? TJPF_GRAY : TJPF_RGB, &out, &out_size,
                               channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, /*flags=*/0);
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(
        out, [](unsigned char* p) { tjFree(p); });
    if (rc != 0)
        throw InternalError(std::string("tjCompress2 failed: ") + tjGetErrorStr2(handle.get()));
    return std::string(reinterpret_cast<const char*>(out), out_size);
}

} // namespace sp
