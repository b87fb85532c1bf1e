//! The mapper: lenses, covers, DBSCAN, nerve, graph statistics.
