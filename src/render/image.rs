//! Small images as `data:` URLs (BMP, which every browser decodes), so thumbnails need no
//! canvas code and cross from the worker as short strings.

use base64::Engine;

/// A uint8 image, row-major, 1 (grey) or 3 (RGB) channels.
#[derive(Clone, Debug, PartialEq)]
pub struct Pixels<'a> {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: &'a [u8],
}

/// Encodes as a 32-bit BMP data URL; `None` when the sizes do not fit the buffer.
pub fn bmp_data_url(pixels: &Pixels<'_>) -> Option<String> {
    let Pixels {
        width,
        height,
        channels,
        data,
    } = *pixels;
    if !(channels == 1 || channels == 3)
        || width == 0
        || height == 0
        || data.len() != width.checked_mul(height)?.checked_mul(channels)?
    {
        return None;
    }
    let pixel_bytes = width * height * 4;
    let file_size = 14 + 40 + pixel_bytes;
    let mut bmp = Vec::with_capacity(file_size);
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&u32::try_from(file_size).ok()?.to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&i32::try_from(width).ok()?.to_le_bytes());
    // A negative height stores rows top-down.
    bmp.extend_from_slice(&(-i32::try_from(height).ok()?).to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&32u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&u32::try_from(pixel_bytes).ok()?.to_le_bytes());
    bmp.extend_from_slice(&[0; 16]);
    for pixel in data.chunks_exact(channels) {
        let (r, g, b) = if channels == 1 {
            (pixel[0], pixel[0], pixel[0])
        } else {
            (pixel[0], pixel[1], pixel[2])
        };
        bmp.extend_from_slice(&[b, g, r, 255]);
    }
    Some(format!(
        "data:image/bmp;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bmp)
    ))
}

/// The per-pixel mean of several images of the same size (rounded).
pub fn mean_image<'a>(images: impl Iterator<Item = &'a [u8]>, len: usize) -> Option<Vec<u8>> {
    let mut sums = vec![0u64; len];
    let mut count = 0u64;
    for image in images {
        if image.len() != len {
            return None;
        }
        sums.iter_mut()
            .zip(image)
            .for_each(|(sum, &value)| *sum += value as u64);
        count += 1;
    }
    (count > 0).then(|| {
        sums.into_iter()
            .map(|sum| ((sum + count / 2) / count) as u8)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grey_image_becomes_a_bmp_data_url() {
        let data = [0u8, 255, 128, 64];
        let url = bmp_data_url(&Pixels {
            width: 2,
            height: 2,
            channels: 1,
            data: &data,
        })
        .unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(url.strip_prefix("data:image/bmp;base64,").unwrap())
            .unwrap();
        assert_eq!(&bytes[..2], b"BM");
        assert_eq!(bytes.len(), 54 + 16);
        assert_eq!(&bytes[54..58], &[0, 0, 0, 255]);
        assert_eq!(&bytes[58..62], &[255, 255, 255, 255]);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(bmp_data_url(&Pixels {
            width: 3,
            height: 2,
            channels: 1,
            data: &[0; 4]
        })
        .is_none());
        assert!(bmp_data_url(&Pixels {
            width: 1,
            height: 1,
            channels: 2,
            data: &[0; 2]
        })
        .is_none());
    }

    #[test]
    fn mean_of_images_rounds() {
        let a = [0u8, 10, 255];
        let b = [1u8, 20, 255];
        assert_eq!(
            mean_image([&a[..], &b[..]].into_iter(), 3),
            Some(vec![1, 15, 255])
        );
        assert_eq!(mean_image(std::iter::empty(), 3), None);
    }
}
