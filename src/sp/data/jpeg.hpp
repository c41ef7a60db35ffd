#pragma once
/// libturbojpeg behind RAII: a decompressor handle per object (one per thread; a handle is not
/// shareable), and an encoder for tools and tests that write JPEG fixtures.
///
///     sp::JpegDecoder dec;
///     dec.decode_planar_rgb(bytes, "val/images/val_0.JPEG", 64, 64, set.image(i));

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sp {

/// A libturbojpeg decompressor (a tjhandle, destroyed with the object). Move-only.
class JpegDecoder {
  public:
    /// Throws InternalError if libturbojpeg cannot create a handle.
    JpegDecoder();

    /// Width and height in pixels.
    struct Size {
        int width = 0;
        int height = 0;
    };

    /// The dimensions in `jpeg`'s header. Throws DataError "<name>: corrupt JPEG: <reason>".
    /// Each call starts from a fresh handle: nothing carries over from earlier files.
    Size size(std::string_view jpeg, const std::string& name);

    /// Decodes `jpeg` to RGB (grayscale becomes 3 identical channels) into `planar`, which holds
    /// 3 x height x width bytes, channel-planar. Throws DataError naming `name` if the JPEG is
    /// corrupt or truncated (libturbojpeg's warnings count as corruption) or is not
    /// `width` x `height`.
    void decode_planar_rgb(std::string_view jpeg, const std::string& name, int width, int height,
                           std::uint8_t* planar);

  private:
    struct Destroy {
        void operator()(void* handle) const;
    };
    void fresh_handle();

    std::unique_ptr<void, Destroy> handle_;
    bool used_ = false;                      ///< handle_ has seen a datastream
    std::vector<unsigned char> interleaved_; ///< scratch: height x width x 3
};

/// Encodes `pixels` (height x width x channels, interleaved; channels 1 for grayscale or 3 for
/// RGB) as a JPEG of `quality` 1..100 without chroma subsampling. Throws InternalError on failure.
std::string encode_jpeg(const std::uint8_t* pixels, int width, int height, int channels,
                        int quality);

} // namespace sp
