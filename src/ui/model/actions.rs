//! What a person does, as values ([`UserAction`]), and what it does to the session; the
//! requests follow from [`AppModel::next_requests`]. A few actions change what is shown
//! beside the session instead (the banner, the status line, the examples, a moved node):
//! the views' only way to change anything ([`crate::ui::context::Ui::act`]).

use topoact_core::mapper::MapperParams;

use super::{layers_around, AppModel, ColourBy, GraphSlot, PointColour, ViewMode};
use crate::protocol::{DrawnGraph, ProjectionMethod, SubsampleChoice};
use crate::session::{MistakeHighlight, SessionState};
use crate::vocabulary::{DatasetRef, NodeRef};

/// One thing a person does to the view.
#[derive(Clone, Debug, PartialEq)]
pub enum UserAction {
    /// Click a layer: its graph, and the multilayer row centred on it.
    SelectLayer(String),
    SetMode(ViewMode),
    /// Pick the layer of one position of the multilayer row.
    SetRowLayer {
        position: usize,
        layer: String,
    },
    /// Click a node of a view (`None`: click the background).
    SelectNode {
        slot: GraphSlot,
        node_idx: Option<usize>,
    },
    SetMapperParams(MapperParams),
    SetSubsample(SubsampleChoice),
    /// Choose a projection method (computed, whatever its size: the person asked).
    ChooseProjection(ProjectionMethod),
    /// "Update" on a projection made for another subsample or layer.
    UpdateProjection,
    SetHighlightedClasses(Vec<u32>),
    /// Highlight one more class (search), or toggle one (the class directory).
    HighlightClass(u32),
    ToggleHighlightedClass(u32),
    UnhighlightClass(u32),
    /// Rectangle or lasso on the projection (`None` or empty: cleared).
    SelectSamples(Vec<u32>),
    SetColourBy(ColourBy),
    SetPointColour(PointColour),
    /// Highlight nodes for their mistakes (search "misclassified", a confused pair of the
    /// class directory); `None` clears it.
    HighlightMistakes(Option<MistakeHighlight>),
    /// Click a point of the projection (or an example): its nearest neighbours in the
    /// layer's full space are listed and highlighted (`None`: the list closes).
    ShowNeighbours(Option<u32>),
    SetJaccardThreshold(f64),
    SetRibbons(bool),
    SetRibbonThreshold(f64),
    SetGlyphs(bool),
    /// Drag (or arrow keys on) the divider between the graph and the projection: the
    /// graph's share of the split, kept within `ui::layout`'s limits.
    SetGraphSplit(f64),
    /// "Recompute": ask again for what failed or was cancelled.
    Recompute,
    /// Show other data (the demo button, a link's data): a fresh view of it.
    OpenData(DatasetRef),
    /// Open a link (at start-up, or Back / Forward): its state becomes the session.
    OpenLink(Box<SessionState>),
    /// Escape: the banner, else the neighbour list, else the selected node, else the sample selection, else the
    /// highlighted classes.
    Escape,
    /// The banner's close button.
    DismissBanner,
    /// The selected node's examples are out of date (another node is selected, or none):
    /// the panel empties until the worker sends the new ones.
    ForgetExamples,
    /// A line for the status bar (e.g. why the address keeps an older view).
    ShowStatus(String),
    /// A message about a link (damaged, or not restorable); it stays until dismissed.
    ShowLinkProblem(String),
    /// A node dragged to `position`: the next layout of its layer starts from there (the
    /// view has already moved it; nothing is redrawn).
    MoveNode {
        slot: GraphSlot,
        node_idx: usize,
        position: [f64; 2],
    },
}

impl UserAction {
    /// Whether the action replaces a message about what failed before. Escape and the
    /// close button decide about the banner themselves; what is not the person's doing
    /// (a status line, stale examples, a link's message) and dragging a node keep it.
    fn replaces_failure_banner(&self) -> bool {
        !matches!(
            self,
            UserAction::Escape
                | UserAction::DismissBanner
                | UserAction::ForgetExamples
                | UserAction::ShowStatus(_)
                | UserAction::ShowLinkProblem(_)
                | UserAction::MoveNode { .. }
                | UserAction::SetGraphSplit(_)
        )
    }
}

impl AppModel {
    /// Applies what the person did to the session.
    pub fn on_user_action(&mut self, action: UserAction) {
        if action.replaces_failure_banner() {
            self.clear_failure_banner();
        }
        let layer_names = self.layer_names();
        let session = &mut self.session;
        match action {
            UserAction::SelectLayer(layer) => {
                if session.layer.as_deref() == Some(layer.as_str()) {
                    return;
                }
                session.layer = Some(layer.clone());
                session.multilayer_layers = layers_around(&layer_names, &layer);
                self.requests.forgive();
                self.session.projection = self.automatic_projection();
            }
            UserAction::SetMode(mode) => {
                session.mode = mode;
                self.requests.forgive();
            }
            UserAction::SetRowLayer { position, layer } => {
                if let Some(slot) = session.multilayer_layers.get_mut(position) {
                    *slot = layer;
                    self.requests.forgive();
                }
            }
            UserAction::SelectNode { slot, node_idx } => {
                let node = node_idx.and_then(|idx| {
                    let graph = self.results.graph_at(slot)?;
                    Some(NodeRef {
                        layer: graph.request.layer.clone(),
                        node_name: graph.nodes.get(idx)?.name.clone(),
                    })
                });
                self.session.selected_node = node;
                self.link_node_unverified = None;
                self.results.examples = None;
            }
            UserAction::SetMapperParams(params) => {
                session.mapper = params;
                self.requests.forgive();
            }
            UserAction::SetSubsample(subsample) => {
                session.subsample_size = subsample.size;
                session.subsample_seed = subsample.seed;
                // The graph records the seed of the samples it was made from.
                session.mapper.seed = subsample.seed;
                self.requests.forgive();
            }
            UserAction::ChooseProjection(method) => {
                session.projection = Some(method);
                self.requests.given_up_projection = None;
                self.requests.asked_projection = self.projection_request();
            }
            UserAction::UpdateProjection => {
                if self.session.projection.is_none() {
                    self.session.projection = Some(ProjectionMethod::DEFAULT_UMAP);
                }
                self.requests.given_up_projection = None;
                self.requests.asked_projection = self.projection_request();
            }
            UserAction::SetHighlightedClasses(classes) => session.highlighted_classes = classes,
            UserAction::HighlightClass(class_idx) => {
                if !session.highlighted_classes.contains(&class_idx) {
                    session.highlighted_classes.push(class_idx);
                }
            }
            UserAction::UnhighlightClass(class_idx) => {
                session.highlighted_classes.retain(|&c| c != class_idx)
            }
            UserAction::ToggleHighlightedClass(class_idx) => {
                match session
                    .highlighted_classes
                    .iter()
                    .position(|&c| c == class_idx)
                {
                    Some(pos) => {
                        session.highlighted_classes.remove(pos);
                    }
                    None => session.highlighted_classes.push(class_idx),
                }
            }
            UserAction::SelectSamples(mut samples) => {
                samples.sort_unstable();
                samples.dedup();
                session.sample_selection = samples;
                self.results.selection_examples = None;
            }
            UserAction::SetColourBy(colour_by) => {
                session.colour_by = colour_by.key(self.dataset.as_ref())
            }
            UserAction::SetPointColour(colour) => {
                session.point_colour = colour.key(self.dataset.as_ref())
            }
            UserAction::ShowNeighbours(sample_idx) => session.neighbours_of = sample_idx,
            UserAction::HighlightMistakes(highlight) => session.highlighted_mistakes = highlight,
            UserAction::SetJaccardThreshold(t) => session.jaccard_threshold = t.clamp(0.0, 1.0),
            UserAction::SetRibbons(on) => session.show_ribbons = on,
            UserAction::SetRibbonThreshold(t) => session.ribbon_threshold = t.clamp(0.0, 1.0),
            UserAction::SetGlyphs(on) => session.show_glyphs = on,
            UserAction::SetGraphSplit(share) => {
                session.graph_split = crate::ui::layout::clamp_split(share)
            }
            UserAction::Recompute => {
                self.requests.forgive();
                self.requests.asked_projection = self.projection_request();
            }
            UserAction::OpenData(dataset) => {
                if !crate::vocabulary::same_data(&self.session.dataset, &dataset) {
                    let mut fresh = super::initial_session(dataset);
                    fresh.mapper = self.session.mapper.clone();
                    fresh.graph_split = self.session.graph_split;
                    self.session = fresh;
                    self.link_node_unverified = None;
                    self.awaiting_link_file = false;
                    self.requests.forgive();
                }
            }
            UserAction::OpenLink(state) => self.open_link(*state),
            UserAction::Escape => self.escape(),
            UserAction::DismissBanner => self.dismiss_banner(),
            UserAction::ForgetExamples => self.results.examples = None,
            UserAction::ShowStatus(status) => self.status = status,
            UserAction::ShowLinkProblem(message) => self.link_banner(message),
            UserAction::MoveNode {
                slot,
                node_idx,
                position,
            } => {
                if let Some(node) = self
                    .results
                    .graph_at_mut(slot)
                    .and_then(|graph| graph.nodes.get_mut(node_idx))
                {
                    node.position = position;
                }
            }
        }
    }

    /// A link's state becomes the session. When its data is loaded, what does not fit is
    /// named at once; otherwise the data is loaded (or asked for) first.
    fn open_link(&mut self, state: SessionState) {
        let layer_names = self.layer_names();
        let data_changes = !crate::vocabulary::same_data(&self.session.dataset, &state.dataset);
        self.session = state;
        self.link_node_unverified = self.session.selected_node.clone();
        self.requests.forgive();
        self.requests.asked_projection = self.projection_request();
        if data_changes {
            self.awaiting_link_file = false;
        }
        if self.data_matches_session() {
            let problems = self.fit_session_to_data();
            if !problems.is_empty() {
                self.link_banner(format!(
                    "Part of this view could not be restored: {}",
                    problems.join(" ")
                ));
            }
            if self.session.multilayer_layers.is_empty() {
                let chosen = self.session.layer.clone().unwrap_or_default();
                self.session.multilayer_layers = layers_around(&layer_names, &chosen);
            }
        }
    }

    fn escape(&mut self) {
        if self.banner.is_some() {
            self.banner = None;
        } else if self.session.neighbours_of.is_some() {
            self.session.neighbours_of = None;
        } else if self.session.selected_node.is_some() {
            self.session.selected_node = None;
        } else if !self.session.sample_selection.is_empty() {
            self.session.sample_selection.clear();
        } else {
            self.session.highlighted_classes.clear();
            self.session.highlighted_mistakes = None;
        }
    }

    /// The selected node of a view, if that view's graph holds it. In multilayer mode every
    /// position showing the node's layer shows it selected.
    pub fn selected_at(&self, slot: GraphSlot) -> Option<usize> {
        let node = self.session.selected_node.as_ref()?;
        let graph = self.results.graph_at(slot)?;
        if graph.request.layer != node.layer {
            return None;
        }
        graph.nodes.iter().position(|n| n.name == node.node_name)
    }

    /// The selected node in the mode on screen: its graph and index.
    pub fn focused_node(&self) -> Option<(&DrawnGraph, usize)> {
        let slots: Vec<GraphSlot> = match self.session.mode {
            ViewMode::Single => vec![GraphSlot::Main],
            ViewMode::Multilayer => (0..self.session.multilayer_layers.len())
                .map(GraphSlot::Layer)
                .collect(),
        };
        slots.into_iter().find_map(|slot| {
            let idx = self.selected_at(slot)?;
            Some((self.results.graph_at(slot)?, idx))
        })
    }

    /// Name of the selected node, if a graph on screen holds it.
    pub fn selected_node_name(&self) -> Option<String> {
        let (graph, node_idx) = self.focused_node()?;
        Some(graph.nodes.get(node_idx)?.name.clone())
    }

    /// The multilayer position holding the selected node, if any.
    fn selected_position(&self) -> Option<(usize, usize)> {
        (0..self.session.multilayer_layers.len())
            .find_map(|position| Some((position, self.selected_at(GraphSlot::Layer(position))?)))
    }

    /// How much of something selected elsewhere each node of a view holds, or `None`:
    /// - in the multilayer row, with a node selected in another layer: the share of that
    ///   node's members each node holds;
    /// - otherwise, with samples selected on the projection: the share of each node's
    ///   members that are selected.
    pub fn shading_at(&self, slot: GraphSlot) -> Option<Vec<f64>> {
        let graph = self.results.graph_at(slot)?;
        if let (GraphSlot::Layer(position), ViewMode::Multilayer) = (slot, self.session.mode) {
            if let Some((selected_position, node_idx)) = self.selected_position() {
                if selected_position == position
                    || self.selected_at(GraphSlot::Layer(position)).is_some()
                {
                    return None;
                }
                let selected = self
                    .results
                    .graph_at(GraphSlot::Layer(selected_position))?
                    .nodes
                    .get(node_idx)?;
                let members: Vec<&[u32]> = graph
                    .nodes
                    .iter()
                    .map(|node| node.members.as_slice())
                    .collect();
                return Some(topoact_core::compare::shares_held(
                    &selected.members,
                    &members,
                ));
            }
        }
        let selection = &self.session.sample_selection;
        if selection.is_empty() {
            return None;
        }
        Some(
            graph
                .nodes
                .iter()
                .map(|node| {
                    let inside =
                        topoact_core::compare::sorted_intersection_len(selection, &node.members);
                    inside as f64 / node.members.len().max(1) as f64
                })
                .collect(),
        )
    }
}
