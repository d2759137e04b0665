import SignalboxCore
import SignalboxJSON

/// The shadow service's decisions, without I/O: given the stored record and a request, the new record
/// and every reply and event AWS would produce.
///
/// The caller provides atomicity: it reads the record, calls the engine and commits the result as one
/// step per shadow (``ShadowStorage/modify(_:_:)``).
package struct ShadowEngine: Sendable {
    /// The limits enforced.
    package var limits: ShadowLimits

    /// Creates an engine enforcing `limits`.
    package init(limits: ShadowLimits = ShadowLimits()) {
        self.limits = limits
    }

    /// The result of an accepted update. The replies and events are built on demand, so the atomic
    /// step (which only needs ``record``) stays short.
    package struct UpdateOutcome: Sendable, Hashable {
        /// The record to store.
        package var record: ShadowRecord
        /// The shadow before the update; `nil` when the update created it.
        package var previous: ShadowRecord?
        /// The request applied.
        package var request: ShadowUpdateRequest
        /// When it was applied.
        package var now: Int64

        /// Whether the desired section changed (gateway sync reports such changes).
        package var desiredChanged: Bool { previous?.desired != record.desired }

        /// The `/update/accepted` reply (and the HTTP response body): the request's state, the
        /// metadata of what it wrote, the new version, timestamp and clientToken.
        package var accepted: Value {
            var accepted = JSONObject()
            accepted.appendUnique(key: "state", value: request.state)
            accepted.appendUnique(key: "metadata", value: Self.requestMetadata(request.state, at: now))
            accepted.appendUnique(key: "version", value: .int(record.version))
            accepted.appendUnique(key: "timestamp", value: .int(now))
            if let token = request.clientToken { accepted.appendUnique(key: "clientToken", value: .string(token)) }
            return .object(accepted)
        }

        /// The `/update/delta` message: due when the update writes desired and desired still differs
        /// from reported; it lists every differing desired member.
        package var delta: Value? {
            guard case .merge = request.desired, let delta = record.delta else { return nil }
            var message = JSONObject()
            message.appendUnique(key: "version", value: .int(record.version))
            message.appendUnique(key: "timestamp", value: .int(now))
            message.appendUnique(key: "state", value: .object(delta))
            message.appendUnique(
                key: "metadata",
                value: .object(ShadowAlgebra.deltaMetadata(delta, desiredMetadata: record.desiredMetadata)))
            if let token = request.clientToken { message.appendUnique(key: "clientToken", value: .string(token)) }
            return .object(message)
        }

        /// The `/update/documents` message: full previous (`null` on creation) and current documents.
        package var documents: Value {
            var documents = JSONObject()
            documents.appendUnique(key: "previous", value: previous?.document ?? .null)
            documents.appendUnique(key: "current", value: record.document)
            documents.appendUnique(key: "timestamp", value: .int(now))
            if let token = request.clientToken { documents.appendUnique(key: "clientToken", value: .string(token)) }
            return .object(documents)
        }

        /// The metadata of the request's own `state` node, as the accepted reply carries it: every
        /// leaf the request writes (a `null` included) stamped with `now`.
        private static func requestMetadata(_ state: Value, at now: Int64) -> Value {
            guard case .object(let sections) = state else { return .object(JSONObject()) }
            var metadata = JSONObject()
            for member in sections {
                metadata.appendUnique(key: member.key, value: ShadowAlgebra.metadata(for: member.value, at: now))
            }
            return .object(metadata)
        }
    }

    /// The result of an accepted delete.
    package struct DeleteOutcome: Sendable, Hashable {
        /// The tombstone to store.
        package var record: ShadowRecord
        /// The `/delete/accepted` reply (and the HTTP response body).
        package var accepted: Value
    }

    /// Applies an update to `current` (`nil` or a tombstone when the shadow does not exist).
    ///
    /// - Throws: ``ShadowError`` 409 on a version mismatch, 413 when the merged state is too large.
    package func update(
        _ request: ShadowUpdateRequest, current: ShadowRecord?, now: Int64
    ) throws(ShadowError) -> UpdateOutcome {
        let existing = current?.live
        if let expected = request.version, expected != (existing?.version ?? 0) { throw .versionConflict }

        var record = existing ?? ShadowRecord(version: inheritedVersion(current, now: now), timestamp: now)
        apply(request.desired, to: &record.desired, metadata: &record.desiredMetadata, at: now)
        apply(request.reported, to: &record.reported, metadata: &record.reportedMetadata, at: now)
        guard record.stateSize <= limits.maxStateBytes else { throw .payloadTooLarge }
        record.version += 1
        record.timestamp = now
        return UpdateOutcome(record: record, previous: existing, request: request, now: now)
    }

    /// Deletes the shadow `current`.
    ///
    /// - Throws: ``ShadowError`` 404 when it does not exist, 409 on a version mismatch.
    package func delete(
        _ request: ShadowControlRequest, key: ShadowKey, current: ShadowRecord?, now: Int64
    ) throws(ShadowError) -> DeleteOutcome {
        guard let existing = current?.live else { throw .notFound(key) }
        let tombstone = ShadowRecord(version: existing.version, timestamp: now, isDeleted: true)
        var accepted = JSONObject()
        accepted.appendUnique(key: "version", value: .int(existing.version))
        accepted.appendUnique(key: "timestamp", value: .int(now))
        if let token = request.clientToken { accepted.appendUnique(key: "clientToken", value: .string(token)) }
        return DeleteOutcome(record: tombstone, accepted: .object(accepted))
    }

    /// The `/get/accepted` reply (and the HTTP response body) for `current`.
    ///
    /// - Throws: ``ShadowError`` 404 when the shadow does not exist.
    package func get(
        _ request: ShadowControlRequest, key: ShadowKey, current: ShadowRecord?, now: Int64
    ) throws(ShadowError) -> Value {
        guard let record = current?.live else { throw .notFound(key) }
        var state = record.state
        if let delta = record.delta { state.appendUnique(key: "delta", value: .object(delta)) }
        var reply = JSONObject()
        reply.appendUnique(key: "state", value: .object(state))
        reply.appendUnique(key: "metadata", value: .object(record.metadata))
        reply.appendUnique(key: "version", value: .int(record.version))
        reply.appendUnique(key: "timestamp", value: .int(now))
        if let token = request.clientToken { reply.appendUnique(key: "clientToken", value: .string(token)) }
        return .object(reply)
    }

    /// The `/rejected` reply for `error`: `{"code": 400, "message": "…", "timestamp": t, "clientToken": …}`.
    package func rejection(_ error: ShadowError, clientToken: String?, now: Int64) -> Value {
        var reply = JSONObject()
        reply.appendUnique(key: "code", value: .int(Int64(error.code.rawValue)))
        reply.appendUnique(key: "message", value: .string(error.message))
        reply.appendUnique(key: "timestamp", value: .int(now))
        if let clientToken { reply.appendUnique(key: "clientToken", value: .string(clientToken)) }
        return .object(reply)
    }

    /// The version a shadow created now starts from: a tombstone's version within the retention time
    /// (AWS: "deleting a shadow does not reset its version number to 0"), otherwise 0.
    private func inheritedVersion(_ tombstone: ShadowRecord?, now: Int64) -> Int64 {
        guard let tombstone, now - tombstone.timestamp <= limits.deletedVersionRetention else { return 0 }
        return tombstone.version
    }

    private func apply(
        _ change: ShadowUpdateRequest.SectionChange, to section: inout JSONObject?, metadata: inout JSONObject?,
        at now: Int64
    ) {
        switch change {
        case .unchanged:
            return
        case .delete:
            section = nil
            metadata = nil
        case .merge(let update):
            var target = section ?? JSONObject()
            var targetMetadata = metadata ?? JSONObject()
            ShadowAlgebra.merge(update, into: &target, metadata: &targetMetadata, at: now)
            if target.isEmpty && !update.isEmpty {
                // Left empty by deletions: the section goes, as a nested object would.
                section = nil
                metadata = nil
                return
            }
            section = target
            metadata = targetMetadata
        }
    }
}
