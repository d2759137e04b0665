import SignalboxJSON

/// A shadow as stored: its two state sections, their metadata, its version and the time it last
/// changed. A deleted shadow stays behind as a tombstone that keeps its version.
package struct ShadowRecord: Sendable, Hashable {
    /// The `state.desired` section; `nil` when absent.
    package var desired: JSONObject?
    /// The `state.reported` section; `nil` when absent.
    package var reported: JSONObject?
    /// Per-leaf timestamps of `desired`, same shape.
    package var desiredMetadata: JSONObject?
    /// Per-leaf timestamps of `reported`, same shape.
    package var reportedMetadata: JSONObject?
    /// The document version: 1 after the first update, +1 per accepted update.
    package var version: Int64
    /// When the shadow last changed, in seconds since the Unix epoch.
    package var timestamp: Int64
    /// True for a deleted shadow's tombstone.
    package var isDeleted: Bool

    /// Creates a record.
    package init(
        desired: JSONObject? = nil, reported: JSONObject? = nil, desiredMetadata: JSONObject? = nil,
        reportedMetadata: JSONObject? = nil, version: Int64, timestamp: Int64, isDeleted: Bool = false
    ) {
        self.desired = desired
        self.reported = reported
        self.desiredMetadata = desiredMetadata
        self.reportedMetadata = reportedMetadata
        self.version = version
        self.timestamp = timestamp
        self.isDeleted = isDeleted
    }

    /// The record if it is a live shadow, `nil` for a tombstone.
    package var live: ShadowRecord? { isDeleted ? nil : self }

    /// `{"desired": …, "reported": …}`, absent sections left out.
    package var state: JSONObject {
        var state = JSONObject()
        if let desired { state.appendUnique(key: "desired", value: .object(desired)) }
        if let reported { state.appendUnique(key: "reported", value: .object(reported)) }
        return state
    }

    /// `{"desired": …, "reported": …}` of metadata, absent sections left out.
    package var metadata: JSONObject {
        var metadata = JSONObject()
        if let desiredMetadata { metadata.appendUnique(key: "desired", value: .object(desiredMetadata)) }
        if let reportedMetadata { metadata.appendUnique(key: "reported", value: .object(reportedMetadata)) }
        return metadata
    }

    /// The document as stored and as `documents` messages show it:
    /// `{"state": {desired, reported}, "metadata": {…}, "version": N}`.
    package var document: Value {
        [
            "state": .object(state),
            "metadata": .object(metadata),
            "version": .int(version),
        ]
    }
}

extension ShadowRecord {
    /// Rebuilds a record from the `state` and `metadata` objects produced by ``state`` and ``metadata``.
    package init(state: JSONObject, metadata: JSONObject, version: Int64, timestamp: Int64, isDeleted: Bool) {
        func section(_ object: JSONObject, _ key: String) -> JSONObject? {
            if case .object(let section)? = object[key] { return section }
            return nil
        }
        self.init(
            desired: section(state, "desired"), reported: section(state, "reported"),
            desiredMetadata: section(metadata, "desired"), reportedMetadata: section(metadata, "reported"),
            version: version, timestamp: timestamp, isDeleted: isDeleted)
    }
}
