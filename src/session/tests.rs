//! Tests of the session state's validation and of its link codec.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use topoact_core::mapper::{CoverKind, Epsilon};

use super::codec::{write_selection, write_varint, ByteCursor};
use super::*;

/// The state encoded in `tests/fixtures/links/v1.txt` (made by version 1 of the codec).
fn fixture_state() -> SessionState {
    SessionState {
        dataset: DatasetRef::File {
            name: "inception <b>mixed</b> \"4c\".npz".into(),
            size_bytes: 1_234_567_890,
            content_hash: "0123456789abcdef".into(),
        },
        layer: Some("mixed4c".into()),
        mode: ViewMode::Multilayer,
        multilayer_layers: vec!["mixed4b".into(), "mixed4c".into(), "mixed4d".into()],
        subsample_size: Some(50_000),
        subsample_seed: 7,
        mapper: MapperParams {
            lens: Lens::KnnDistance { k: 10 },
            cover: CoverKind::Balanced,
            n_intervals: 40,
            overlap: 0.5,
            epsilon: Epsilon::Explicit(0.6379049324125498),
            min_samples: 3,
            min_intersection: 2,
            seed: 11,
            remove_duplicate_nodes: true,
        },
        projection: Some(ProjectionMethod::Umap {
            n_neighbors: 20,
            min_dist: 0.01,
        }),
        selected_node: Some(NodeRef {
            layer: "mixed4c".into(),
            node_name: "cube3_cluster1".into(),
        }),
        sample_selection: vec![0, 1, 2, 3, 10, 1000, 1001, 65_535, 4_000_000_000],
        highlighted_classes: vec![3, 999, 1],
        search_text: "<script>alert('x')</script> golden retriever".into(),
        colour_by: "purity".into(),
        point_colour: "membership".into(),
        neighbours_of: None,
        highlighted_mistakes: None,
        jaccard_threshold: 0.25,
        show_ribbons: true,
        ribbon_threshold: 0.1,
        show_glyphs: true,
        graph_cameras: vec![
            CameraState {
                scale: 1.5,
                offset_x: -20.25,
                offset_y: 3.0,
            },
            CameraState {
                scale: 0.2,
                offset_x: 0.0,
                offset_y: 0.0,
            },
            CameraState {
                scale: 5.0,
                offset_x: 1e6,
                offset_y: -1e-3,
            },
        ],
        projection_camera: Some(CameraState {
            scale: 2.0,
            offset_x: 0.5,
            offset_y: -0.5,
        }),
        // Version-1 links made before the split existed open with the default split.
        graph_split: DEFAULT_GRAPH_SPLIT,
    }
}

const FIXTURE_V1: &str = include_str!("../../tests/fixtures/links/v1.txt");

/// Links made by version 1 must keep opening, to the same view.
#[test]
fn share_fixture_v1_link_still_decodes() {
    let decoded = decode(FIXTURE_V1).expect("the version-1 fixture link decodes");
    assert_eq!(decoded, fixture_state());
}

/// Prints the fixture link (run with `--ignored --nocapture` to regenerate; only when the
/// format's version changes, never for version 1).
#[test]
#[ignore]
fn share_print_fixture_link() {
    println!("{}", encode(&fixture_state()));
}

/// The split travels in the link; a link without it (made before it existed) opens with the
/// default split.
#[test]
fn share_the_split_is_in_the_link_and_defaults_when_absent() {
    let state = SessionState {
        graph_split: 0.55,
        ..SessionState::default()
    };
    assert_eq!(decode(&encode(&state)).map(|s| s.graph_split), Ok(0.55));
    let mut json: serde_json::Value = serde_json::to_value(&state).expect("json");
    json.as_object_mut().expect("object").remove("graph_split");
    let link = link_of_payload(&payload_of(&json.to_string(), &[]));
    assert_eq!(
        decode(&link).map(|s| s.graph_split),
        Ok(DEFAULT_GRAPH_SPLIT)
    );
    let not_a_number = SessionState {
        graph_split: f64::NAN,
        ..SessionState::default()
    };
    assert!(matches!(
        not_a_number.validate(),
        Err(LinkError::Invalid {
            field: "graph / projection split",
            ..
        })
    ));
}

#[test]
fn share_default_state_round_trips_as_fragment_safe_text() {
    let link = encode(&SessionState::default());
    assert!(link.starts_with("v1."));
    let is_fragment_safe = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    assert!(link.chars().all(is_fragment_safe), "{link}");
    assert_eq!(decode(&link), Ok(SessionState::default()));
    assert_eq!(decode(&format!("#{link}")), Ok(SessionState::default()));
}

#[test]
fn share_markup_in_strings_is_kept_as_text() {
    let state = SessionState {
        search_text: "<script>alert(1)</script>".into(),
        layer: Some("\"><img src=x onerror=alert(1)>".into()),
        dataset: DatasetRef::Url {
            url: "javascript:alert(1)//<svg onload=x>".into(),
        },
        ..SessionState::default()
    };
    let decoded = decode(&encode(&state)).expect("decodes");
    assert_eq!(decoded.search_text, "<script>alert(1)</script>");
    assert_eq!(decoded, state);
}

#[test]
fn share_large_selections_stay_compact() {
    // A lasso over 50,000 contiguous-ish samples of 300,000.
    let state = SessionState {
        sample_selection: (0..300_000u32)
            .filter(|idx| idx % 6 < 1 || (100_000..140_000).contains(idx))
            .collect(),
        ..SessionState::default()
    };
    let link = encode_checked(&state).expect("fits in a link");
    assert!(link.len() < 16 * 1024, "{} characters", link.len());
    assert_eq!(decode(&link), Ok(state.clone()));
    // 50,000 scattered samples (a pseudo-random choice): the worst realistic case.
    let mut scatter_state = SessionState::default();
    let mut value: u64 = 12345;
    let mut chosen = std::collections::BTreeSet::new();
    while chosen.len() < 50_000 {
        value = value
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        chosen.insert(((value >> 33) % 300_000) as u32);
    }
    scatter_state.sample_selection = chosen.into_iter().collect();
    let link = encode_checked(&scatter_state).expect("fits in a link");
    assert_eq!(decode(&link), Ok(scatter_state));
}

#[test]
fn share_every_truncation_is_refused() {
    let link = encode(&fixture_state());
    for len in 0..link.len() {
        assert!(
            decode(&link[..len]).is_err(),
            "prefix of {len} characters decoded"
        );
    }
}

#[test]
fn share_no_single_character_change_gives_another_view() {
    let link = encode(&fixture_state());
    for (position, original) in link.char_indices().skip(3) {
        for replacement in ['A', 'f', '0', '-', '_'] {
            if replacement == original {
                continue;
            }
            let mut altered = link.clone();
            altered.replace_range(position..position + 1, &replacement.to_string());
            let result = decode(&altered);
            // A change either fails the checksum, or lands in bits deflate does not read
            // (e.g. the code length of a symbol the data never uses) and decodes to the very
            // same state: never to another view.
            assert!(
                matches!(result, Err(LinkError::Damaged { .. }))
                    || result.as_ref() == Ok(&fixture_state()),
                "changing character {position} ({original}) to {replacement} gave {result:?}"
            );
        }
    }
}

#[test]
fn share_future_versions_are_refused_by_name() {
    let body = &encode(&SessionState::default())[3..];
    let result = decode(&format!("v3.{body}"));
    assert_eq!(result, Err(LinkError::FutureVersion { version: 3 }));
    let message = result.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(message.contains("newer version (v3)"), "{message}");
    assert_eq!(
        decode("v2.anything"),
        Err(LinkError::FutureVersion { version: 2 })
    );
}

#[test]
fn share_malformed_prefixes_are_refused() {
    check_error("", LinkError::Empty);
    check_error("#", LinkError::Empty);
    check_error("hello", LinkError::NotAViewLink);
    check_error("v.abc", LinkError::NotAViewLink);
    check_error("v0.abc", LinkError::NotAViewLink);
    check_error("v99999999999.abc", LinkError::NotAViewLink);
    assert!(matches!(decode("v1"), Err(LinkError::Damaged { .. })));
    assert!(matches!(decode("v1."), Err(LinkError::Damaged { .. })));
    assert!(matches!(decode("v1.!!!"), Err(LinkError::Damaged { .. })));
}

fn check_error(link: &str, expected: LinkError) {
    assert_eq!(decode(link), Err(expected), "link {link:?}");
}

#[test]
fn share_overlong_links_are_refused_before_decoding() {
    let link = format!("v1.{}", "A".repeat(MAX_LINK_CHARS));
    let result = decode(&link);
    assert_eq!(
        result,
        Err(LinkError::TooLong {
            chars: MAX_LINK_CHARS + 3
        })
    );
    let message = result.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(message.contains("longer than browsers keep"), "{message}");
    // A view too big to share is caught before sharing.
    let mut state = SessionState::default();
    let mut random: u64 = 99;
    let mut sample_idx: u32 = 0;
    state.sample_selection = (0..1_000_000)
        .map(|_| {
            random = random
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            sample_idx += 1 + ((random >> 33) % 4000) as u32;
            sample_idx
        })
        .collect();
    let checked = encode_checked(&state);
    assert!(
        matches!(checked, Err(LinkError::TooLong { .. })),
        "{:?}",
        checked.map(|link| link.len())
    );
}

/// A short link that inflates to more than the payload limit (a "zip bomb").
#[test]
fn share_oversized_payloads_stop_at_the_limit() {
    let zeros = vec![0u8; MAX_PAYLOAD_BYTES + 1024];
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9);
    let link = format!("v1.{}", URL_SAFE_NO_PAD.encode(compressed));
    assert!(link.len() < MAX_LINK_CHARS);
    assert_eq!(decode(&link), Err(LinkError::PayloadTooLarge));
}

/// A link made from an arbitrary payload (valid framing, any content).
fn link_of_payload(payload: &[u8]) -> String {
    format!(
        "v1.{}",
        URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec_zlib(payload, 6))
    )
}

fn payload_of(json: &str, selection: &[u32]) -> Vec<u8> {
    let mut payload = Vec::new();
    write_varint(&mut payload, json.len() as u64);
    payload.extend_from_slice(json.as_bytes());
    write_selection(&mut payload, selection);
    payload
}

#[test]
fn share_invalid_states_name_the_problem() {
    type Spoil = fn(&mut SessionState);
    let cases: Vec<(&str, Spoil)> = vec![
        ("Jaccard threshold", |s| s.jaccard_threshold = 1.5),
        ("ribbon threshold", |s| s.ribbon_threshold = -0.1),
        ("graph / projection split", |s| s.graph_split = 1.2),
        ("camera zoom", |s| {
            s.graph_cameras = vec![CameraState {
                scale: 0.0,
                offset_x: 0.0,
                offset_y: 0.0,
            }]
        }),
        ("camera pan", |s| {
            s.projection_camera = Some(CameraState {
                scale: 1.0,
                offset_x: 1e300,
                offset_y: 0.0,
            })
        }),
        ("graph cameras", |s| {
            s.graph_cameras = vec![
                CameraState {
                    scale: 1.0,
                    offset_x: 0.0,
                    offset_y: 0.0
                };
                4
            ]
        }),
        ("mapper parameters", |s| s.mapper.overlap = 1.0),
        ("mapper parameters", |s| s.mapper.n_intervals = 0),
        ("mapper parameters", |s| {
            s.mapper.epsilon = Epsilon::Explicit(-1.0)
        }),
        ("multilayer view", |s| {
            s.multilayer_layers = vec!["a".into(); 4]
        }),
        ("search text", |s| {
            s.search_text = "x".repeat(MAX_TEXT_CHARS + 1)
        }),
        ("file content hash", |s| {
            s.dataset = DatasetRef::File {
                name: "a.npz".into(),
                size_bytes: 1,
                content_hash: "<script>".into(),
            }
        }),
        ("dataset URL", |s| {
            s.dataset = DatasetRef::Url { url: String::new() }
        }),
        ("t-SNE perplexity", |s| {
            s.projection = Some(ProjectionMethod::Tsne { perplexity: 0.0 })
        }),
        ("UMAP min_dist", |s| {
            s.projection = Some(ProjectionMethod::Umap {
                n_neighbors: 15,
                min_dist: -1.0,
            })
        }),
        ("UMAP neighbour count", |s| {
            s.projection = Some(ProjectionMethod::Umap {
                n_neighbors: 0,
                min_dist: 0.1,
            })
        }),
        ("subsample size", |s| s.subsample_size = Some(0)),
        ("subsample seed", |s| s.subsample_seed = MAX_SEED + 1),
        ("mapper seed", |s| s.mapper.seed = u64::MAX),
        ("custom lens", |s| {
            s.mapper.lens = Lens::Custom {
                name: "mine".into(),
                values_by_sample: vec![0.0; MAX_CUSTOM_LENS_VALUES + 1],
            }
        }),
    ];
    for (field, spoil) in cases {
        let mut state = SessionState::default();
        spoil(&mut state);
        let result = decode(&encode(&state));
        match result {
            Err(LinkError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("expected an invalid {field}, got {other:?}"),
        }
        assert!(encode_checked(&state).is_err());
    }
    // Non-finite numbers cannot be written as JSON; `validate` catches them in memory.
    let mut state = SessionState {
        jaccard_threshold: f64::NAN,
        ..SessionState::default()
    };
    assert!(matches!(
        state.validate(),
        Err(LinkError::Invalid {
            field: "Jaccard threshold",
            ..
        })
    ));
    state = SessionState::default();
    state.graph_cameras = vec![CameraState {
        scale: f64::INFINITY,
        offset_x: 0.0,
        offset_y: 0.0,
    }];
    assert!(matches!(
        state.validate(),
        Err(LinkError::Invalid {
            field: "camera zoom",
            ..
        })
    ));
}

#[test]
fn share_unordered_or_oversized_selections_are_refused() {
    for selection in [vec![5u32, 3], vec![4, 4], vec![u32::MAX, 0]] {
        let link = link_of_payload(&payload_of("{}", &selection));
        assert!(
            matches!(
                decode(&link),
                Err(LinkError::Invalid {
                    field: "sample selection",
                    ..
                })
            ),
            "{selection:?}"
        );
    }
    // A count larger than the bytes that follow.
    let mut payload = payload_of("{}", &[]);
    payload.pop();
    write_varint(&mut payload, 1_000_000);
    assert!(matches!(
        decode(&link_of_payload(&payload)),
        Err(LinkError::Damaged { .. })
    ));
    // Bytes after the selection, a JSON length beyond the payload, bad JSON, wrong types.
    let mut trailing = payload_of("{}", &[1, 2]);
    trailing.push(0);
    assert!(matches!(
        decode(&link_of_payload(&trailing)),
        Err(LinkError::Damaged { .. })
    ));
    let mut long_json = Vec::new();
    write_varint(&mut long_json, 1 << 40);
    assert!(matches!(
        decode(&link_of_payload(&long_json)),
        Err(LinkError::Damaged { .. })
    ));
    for json in [
        "{",
        "[]",
        "{\"jaccard_threshold\": \"high\"}",
        "{\"mode\": \"triple\"}",
        "{\"jaccard_threshold\": null}",
    ] {
        assert!(
            matches!(
                decode(&link_of_payload(&payload_of(json, &[]))),
                Err(LinkError::Damaged { .. })
            ),
            "{json}"
        );
    }
    // Fields unknown to this version are ignored; missing ones take their defaults.
    let link = link_of_payload(&payload_of(
        "{\"added_later\": [1, 2], \"show_glyphs\": true}",
        &[],
    ));
    assert_eq!(
        decode(&link),
        Ok(SessionState {
            show_glyphs: true,
            ..SessionState::default()
        })
    );
}

#[test]
fn share_varints_reject_more_than_64_bits() {
    let mut bytes = Vec::new();
    write_varint(&mut bytes, u64::MAX);
    assert_eq!(
        ByteCursor {
            bytes: &bytes,
            position: 0
        }
        .varint(),
        Ok(u64::MAX)
    );
    let too_long = [0xffu8; 11];
    assert!(ByteCursor {
        bytes: &too_long,
        position: 0
    }
    .varint()
    .is_err());
    let overflowing = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    assert!(ByteCursor {
        bytes: &overflowing,
        position: 0
    }
    .varint()
    .is_err());
}

#[test]
fn share_checks_against_the_loaded_data() {
    let layer_names = vec![
        "mixed4b".to_string(),
        "mixed4c".to_string(),
        "mixed4d".to_string(),
    ];
    let facts = LoadedDataFacts {
        layer_names: &layer_names,
        n_samples: 4_000_000_001,
        n_classes: 1000,
    };
    assert_eq!(fixture_state().check_against(facts), Ok(()));

    let mut state = fixture_state();
    state.layer = Some("mixed5b".into());
    assert!(
        matches!(state.check_against(facts), Err(LinkError::MissingLayer { layer, .. }) if layer == "mixed5b")
    );
    let state = fixture_state();
    let few_samples = LoadedDataFacts {
        n_samples: 70_000,
        ..facts
    };
    assert_eq!(
        state.check_against(few_samples),
        Err(LinkError::SampleOutOfRange {
            sample_idx: 4_000_000_000,
            n_samples: 70_000
        })
    );
    let few_classes = LoadedDataFacts {
        n_classes: 10,
        ..facts
    };
    assert_eq!(
        state.check_against(few_classes),
        Err(LinkError::ClassOutOfRange {
            class_idx: 999,
            n_classes: 10
        })
    );

    assert_eq!(
        state.check_selected_node("mixed4c", ["cube0_cluster0", "cube3_cluster1"]),
        Ok(())
    );
    assert_eq!(
        state.check_selected_node("mixed4b", ["cube0_cluster0"]),
        Ok(())
    );
    assert_eq!(
        state.check_selected_node("mixed4c", ["cube0_cluster0"]),
        Err(LinkError::UnknownNode {
            layer: "mixed4c".into(),
            node_name: "cube3_cluster1".into()
        })
    );
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        Just("<script>alert(1)</script>".to_string()),
        "[a-z0-9_]{1,12}"
    ]
}

fn camera() -> impl Strategy<Value = CameraState> {
    (1e-6f64..1e6, -1e9f64..1e9, -1e9f64..1e9).prop_map(|(scale, offset_x, offset_y)| CameraState {
        scale,
        offset_x,
        offset_y,
    })
}

fn dataset() -> impl Strategy<Value = DatasetRef> {
    prop_oneof![
        Just(DatasetRef::Demo),
        text()
            .prop_filter("non-empty", |url| !url.is_empty())
            .prop_map(|url| DatasetRef::Url { url }),
        (text(), any::<u64>(), any::<u64>()).prop_map(|(name, size_bytes, hash)| {
            DatasetRef::File {
                name,
                size_bytes,
                content_hash: format!("{hash:016x}"),
            }
        }),
        (1usize..1_000_000, 1usize..4096, any::<u64>()).prop_map(|(n_samples, dim, seed)| {
            DatasetRef::Synthetic {
                n_samples,
                dim,
                seed,
            }
        }),
    ]
}

fn mapper_params() -> impl Strategy<Value = MapperParams> {
    let lens = prop_oneof![
        Just(Lens::L2Norm),
        Just(Lens::FirstPrincipalComponent),
        (1usize..50).prop_map(|k| Lens::KnnDistance { k }),
        (text(), prop::collection::vec(-1e12f64..1e12, 0..20)).prop_map(
            |(name, values_by_sample)| Lens::Custom {
                name,
                values_by_sample
            }
        ),
    ];
    let epsilon = prop_oneof![
        (1e-12f64..1e6).prop_map(Epsilon::Explicit),
        (1usize..100, 0.0f64..=1.0, any::<bool>()).prop_map(|(k, quantile, per_interval)| {
            Epsilon::KnnQuantile {
                k,
                quantile,
                per_interval,
            }
        }),
    ];
    (
        lens,
        any::<bool>(),
        1usize..500,
        0.0f64..0.999,
        epsilon,
        1usize..100,
        1usize..20,
        0..=MAX_SEED,
        any::<bool>(),
    )
        .prop_map(
            |(
                lens,
                balanced,
                n_intervals,
                overlap,
                epsilon,
                min_samples,
                min_intersection,
                seed,
                dedup,
            )| {
                MapperParams {
                    lens,
                    cover: if balanced {
                        CoverKind::Balanced
                    } else {
                        CoverKind::Uniform
                    },
                    n_intervals,
                    overlap,
                    epsilon,
                    min_samples,
                    min_intersection,
                    seed,
                    remove_duplicate_nodes: dedup,
                }
            },
        )
}

fn projection() -> impl Strategy<Value = Option<ProjectionMethod>> {
    prop_oneof![
        Just(None),
        (0.001f64..10_000.0).prop_map(|perplexity| Some(ProjectionMethod::Tsne { perplexity })),
        (1usize..10_000, 0.0f64..100.0).prop_map(|(n_neighbors, min_dist)| {
            Some(ProjectionMethod::Umap {
                n_neighbors,
                min_dist,
            })
        }),
        Just(Some(ProjectionMethod::Precomputed {
            kind: ProjectionKind::Tsne
        })),
        Just(Some(ProjectionMethod::Precomputed {
            kind: ProjectionKind::Umap
        })),
    ]
}

fn mistake_highlight() -> impl Strategy<Value = MistakeHighlight> {
    prop_oneof![
        Just(MistakeHighlight::Any),
        (any::<u32>(), any::<u32>()).prop_map(|(true_class, predicted_class)| {
            MistakeHighlight::Confusion {
                true_class,
                predicted_class,
            }
        }),
    ]
}

fn view_state() -> impl Strategy<Value = SessionState> {
    let data_part = (
        dataset(),
        prop::option::of(text()),
        any::<bool>(),
        prop::collection::vec(text(), 0..=3),
        prop::option::of(1usize..10_000_000),
        0..=MAX_SEED,
        mapper_params(),
        projection(),
    );
    let selection_part = (
        prop::option::of((text(), text())),
        prop::collection::btree_set(any::<u32>(), 0..300),
        prop::collection::vec(any::<u32>(), 0..20),
        text(),
        text(),
        text(),
    );
    let display_part = (
        0.0f64..=1.0,
        any::<bool>(),
        0.0f64..=1.0,
        any::<bool>(),
        prop::collection::vec(camera(), 0..=3),
        prop::option::of(camera()),
        prop::option::of(any::<u32>()),
        prop::option::of(mistake_highlight()),
        0.0f64..=1.0,
    );
    (data_part, selection_part, display_part).prop_map(|(data, selection, display)| {
        let (
            dataset,
            layer,
            multilayer,
            multilayer_layers,
            subsample_size,
            subsample_seed,
            mapper,
            projection,
        ) = data;
        let (selected, samples, highlighted_classes, search_text, colour_by, point_colour) =
            selection;
        let (
            jaccard_threshold,
            show_ribbons,
            ribbon_threshold,
            show_glyphs,
            graph_cameras,
            projection_camera,
            neighbours_of,
            highlighted_mistakes,
            graph_split,
        ) = display;
        SessionState {
            dataset,
            layer,
            mode: if multilayer {
                ViewMode::Multilayer
            } else {
                ViewMode::Single
            },
            multilayer_layers,
            subsample_size,
            subsample_seed,
            mapper,
            projection,
            selected_node: selected.map(|(layer, node_name)| NodeRef { layer, node_name }),
            sample_selection: samples.into_iter().collect(),
            highlighted_classes,
            search_text,
            colour_by,
            point_colour,
            neighbours_of,
            highlighted_mistakes,
            jaccard_threshold,
            show_ribbons,
            ribbon_threshold,
            show_glyphs,
            graph_cameras,
            projection_camera,
            graph_split,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn share_round_trip_is_exact(state in view_state()) {
        prop_assert_eq!(state.validate(), Ok(()));
        let link = encode_checked(&state).expect("a valid state encodes");
        prop_assert_eq!(decode(&link), Ok(state));
    }

    #[test]
    fn share_decoder_never_panics_on_text(text in ".{0,300}") {
        let _ = decode(&text);
        let _ = decode(&format!("v1.{text}"));
    }

    #[test]
    fn share_decoder_never_panics_on_base64(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(&format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes)));
        // The same bytes as a well-framed payload reach the parser itself.
        let result = decode(&link_of_payload(&bytes));
        prop_assert!(result.is_err() || bytes.len() > 2);
    }

    /// Altered payloads behind a valid checksum: parsing and validation refuse or accept,
    /// never panic, and anything accepted is valid.
    #[test]
    fn share_decoder_never_panics_on_altered_payloads(
        state in view_state(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut selection_less = state.clone();
        selection_less.sample_selection.clear();
        let json = serde_json::to_string(&selection_less).expect("json");
        let mut payload = payload_of(&json, &state.sample_selection);
        for (position, value) in flips {
            let position = position.index(payload.len());
            payload[position] = value;
        }
        if let Ok(decoded) = decode(&link_of_payload(&payload)) {
            prop_assert_eq!(decoded.validate(), Ok(()));
        }
    }
}
