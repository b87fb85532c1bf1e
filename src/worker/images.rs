//! Images from the dataset: a sample's thumbnail, a node's example members with their
//! images, and mean images (as BMP `data:` URLs, small enough to cross the protocol).

use topoact_core::dataset::{Dataset, ImageStack};

use super::state::{with_dataset, with_state};
use crate::protocol::{Example, ExamplesQuery, FromWorker, NodeExamples, RequestId, WorkerError};
use crate::render::image::{bmp_data_url, mean_image, Pixels};

/// `SampleThumbnail`: the input thumbnail of one sample (`None` without thumbnails, without
/// a dataset, or past its end).
pub(super) fn sample_thumbnail(sample_idx: u32) -> FromWorker {
    let url = with_state(|state| {
        let stack = state.dataset.as_ref()?.images.as_ref()?;
        ((sample_idx as usize) < stack.n_images())
            .then(|| image_url(stack, stack.image(sample_idx as usize)))
            .flatten()
    });
    FromWorker::Thumbnail { sample_idx, url }
}

/// The input thumbnail of a sample of `dataset` as a `data:` URL (`None` without
/// thumbnails, or past their end).
pub(super) fn thumbnail_of(dataset: &Dataset, sample_idx: usize) -> Option<String> {
    let stack = dataset.images.as_ref()?;
    (sample_idx < stack.n_images())
        .then(|| image_url(stack, stack.image(sample_idx)))
        .flatten()
}

/// `NodeExamples`: examples of a node's top classes and its mean images.
pub(super) fn node_examples_answer(
    request_id: RequestId,
    query: &ExamplesQuery,
) -> Result<FromWorker, WorkerError> {
    with_dataset(|dataset| {
        Ok(FromWorker::Examples {
            request_id,
            examples: node_examples(dataset, query),
        })
    })
}

/// Up to `per_class` members of each top class, spread evenly over the (ascending) member
/// list so the choice is deterministic; plus the node's mean images.
fn node_examples(dataset: &Dataset, query: &ExamplesQuery) -> NodeExamples {
    let n_samples = dataset.n_samples();
    let members: Vec<u32> = query
        .members
        .iter()
        .copied()
        .filter(|&idx| (idx as usize) < n_samples)
        .collect();
    let class_name = |class_idx: Option<u32>| {
        class_idx
            .and_then(|idx| dataset.class_names.get(idx as usize).cloned())
            .unwrap_or_else(|| "unlabelled".into())
    };
    let label_of = |sample_idx: u32| {
        dataset
            .labels
            .as_ref()
            .and_then(|labels| labels.get(sample_idx as usize).copied())
    };
    let activation_images = dataset.activation_images.get(&query.layer);

    let example = |sample_idx: u32| Example {
        sample_idx,
        class_name: class_name(label_of(sample_idx)),
        thumbnail: dataset
            .images
            .as_ref()
            .and_then(|stack| image_url(stack, stack.image(sample_idx as usize))),
        activation_image: activation_images
            .and_then(|stack| image_url(stack, stack.image(sample_idx as usize))),
    };
    let groups = query
        .top_classes
        .iter()
        .map(|&class_idx| {
            let of_class: Vec<u32> = members
                .iter()
                .copied()
                .filter(|&idx| label_of(idx) == Some(class_idx))
                .collect();
            let picks = spread_picks(&of_class, query.per_class);
            (
                class_name(Some(class_idx)),
                picks.into_iter().map(example).collect(),
            )
        })
        .collect();
    NodeExamples {
        node_name: query.node_name.clone(),
        groups,
        mean_activation_image: activation_images
            .and_then(|stack| mean_image_url(stack, &members, n_samples)),
        mean_thumbnail: dataset
            .images
            .as_ref()
            .and_then(|stack| mean_image_url(stack, &members, n_samples)),
    }
}

/// One image of `stack` as a `data:` URL.
fn image_url(stack: &ImageStack, pixels: &[u8]) -> Option<String> {
    bmp_data_url(&Pixels {
        width: stack.width,
        height: stack.height,
        channels: stack.channels,
        data: pixels,
    })
}

/// The mean of the members' images (indices past `n_samples` ignored) as a `data:` URL.
pub(super) fn mean_image_url(
    stack: &ImageStack,
    members: &[u32],
    n_samples: usize,
) -> Option<String> {
    let in_range = members.iter().filter(|&&idx| (idx as usize) < n_samples);
    let mean = mean_image(
        in_range.map(|&idx| stack.image(idx as usize)),
        stack.image_len(),
    )?;
    image_url(stack, &mean)
}

/// `count` items spread evenly over `items` (all of them when there are fewer).
fn spread_picks(items: &[u32], count: usize) -> Vec<u32> {
    if items.len() <= count {
        return items.to_vec();
    }
    (0..count)
        .map(|pick| items[pick * items.len() / count])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::spread_picks;

    #[test]
    fn picks_spread_over_the_members() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(spread_picks(&items, 3), [0, 3, 6]);
        assert_eq!(spread_picks(&items[..2], 3), [0, 1]);
        assert!(spread_picks(&items, 0).is_empty());
    }
}
