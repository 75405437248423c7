#pragma once
// npm's words for a peer dependency conflict (ERESOLVE): which package was being resolved,
// what the tree has, which dependency could not be met, each with the chain of dependents that
// holds it in place. The same text npm prints for an ERESOLVE error (4 levels of dependents)
// and for an "overriding peer dependency" warning (2 levels), made as arborist explains nodes
// and edges (Node#explain, Edge#explain) and as npm prints them (explain-dep, explain-eresolve).
#include <optional>
#include <string>

#include "tree/tree.h"

namespace lade::resolver {

/// What a conflict report is about (arborist's explanation object, in tree terms).
struct PeerConflict {
  /// Which of arborist's two reports this is: they explain their parts in different orders,
  /// and the first explanation of a node or edge is the one every later report prints.
  enum class Source {
    kPlaceDep,        // PlaceDep#explainPeerConflict: edge, dep, current, then the peer conflict
    kBuildIdealTree,  // build-ideal-tree's #explainPeerConflict: current, current edge, edge
  };
  Source source = Source::kPlaceDep;
  /// The tree the nodes are in (for the links into a node).
  const tree::Tree* tree = nullptr;
  /// The dependency that could not be met.
  const tree::Edge* edge = nullptr;
  /// The package that was being placed for it (PlaceDep's dep), if any.
  const tree::Node* dep = nullptr;
  /// What the tree has where `edge` looks (explained through `current_via` alone when set).
  const tree::Node* current = nullptr;
  const tree::Edge* current_via = nullptr;
  /// The dependency that brought `current`, when no current node is known.
  const tree::Edge* current_edge = nullptr;
  /// "Conflicting peer dependency:": the peer that could not go in, through its edge.
  const tree::Node* conflicting_peer = nullptr;
  const tree::Edge* conflicting_peer_via = nullptr;
  /// When no current node is known, the current node of the conflicting peer.
  const tree::Node* conflicting_current = nullptr;
  /// A peer of a peer whose place holds another version: arborist's report then carries that
  /// node's explanation (through `unprintable_via`) where npm expects a pair, and npm can print
  /// only the heading. The node is still explained, which fixes what later reports show of it.
  const tree::Node* unprintable_current = nullptr;
  const tree::Edge* unprintable_via = nullptr;
};

/// explain-eresolve's explain(): "While resolving: ...", "Found: ...", "Could not resolve
/// dependency: ...", "Conflicting peer dependency: ...", dependents `depth` levels deep.
/// Empty when npm cannot print the report (see PeerConflict::unprintable_current). Explains
/// the nodes and edges in the order arborist does, remembering each first explanation in the
/// tree (Node::explanation, Edge::explanation).
std::optional<std::string> explain_peer_conflict(const PeerConflict& conflict, int depth);

/// The advice after an ERESOLVE error (explain-eresolve's report()).
std::string eresolve_fix(bool strict_peer_deps);

}  // namespace lade::resolver
