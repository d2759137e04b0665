import SignalboxCore
import SignalboxJSON

extension ShadowService {
    /// Gateway sync: the desired-state changes of `things`' shadows after `cursor`.
    ///
    /// The reply is
    /// `{"cursor": N, "changes": [{"thing", "shadow", "version", "timestamp", "deleted", "desired", "delta"}], "more": false}`
    /// with one entry per shadow whose desired state changed (or which was deleted) after `cursor`,
    /// carrying its *current* desired state and delta. Pass the returned `cursor` to the next call.
    /// With `wait`, an empty result is held back until a change arrives or `wait` passes.
    ///
    /// - Parameters:
    ///   - things: The gateway's devices.
    ///   - cursor: 0 for everything, else the cursor of the previous reply.
    ///   - wait: How long to long-poll for a change; `nil` or zero answers at once.
    ///   - limit: At most this many shadows per reply; `more` is true when more are waiting.
    package func sync(things: Set<String>, cursor: Int64, wait: Duration?, limit: Int = 1000) async throws(ShadowError)
        -> Value
    {
        guard cursor >= 0 else { throw ShadowError(.badRequest, "cursor must be a non-negative integer") }
        let deadline = ContinuousClock.now + (wait ?? .zero)
        while true {
            let latest = signal.sequence
            let changes = try await desiredChanges(after: cursor, things: things, limit: limit + 1)
            if !changes.isEmpty || things.isEmpty || ContinuousClock.now >= deadline {
                return try await syncReply(changes, cursor: cursor, latest: latest, limit: limit)
            }
            await signal.wait(beyond: max(latest, cursor), timeout: deadline - ContinuousClock.now)
            if Task.isCancelled { throw ShadowError(.serviceUnavailable, "Shutting down") }
        }
    }

    /// The gateway sync stream's next page: the desired-state changes of every shadow after
    /// `cursor`, as the entries of a sync reply with their thing, at most `limit` shadows; and the
    /// cursor that page brings a reader to.
    package func syncPage(after cursor: Int64, limit: Int) async throws(ShadowError)
        -> (entries: [(thing: String, entry: Value)], cursor: Int64)
    {
        let latest = signal.sequence
        let changes = try await desiredChanges(after: cursor, things: nil, limit: limit + 1)
        let page = changes.prefix(limit)
        var entries: [(thing: String, entry: Value)] = []
        entries.reserveCapacity(page.count)
        for change in page { entries.append((change.key.thing, try await syncEntry(change))) }
        return (entries, Self.cursor(after: page, from: cursor, latest: latest, more: changes.count > limit))
    }

    /// ``ShadowStorage/desiredChanges(after:things:limit:)``, its failures as a ``ShadowError``.
    private func desiredChanges(after cursor: Int64, things: Set<String>?, limit: Int) async throws(ShadowError)
        -> [ShadowChange]
    {
        do {
            return try await storage.desiredChanges(after: cursor, things: things, limit: limit)
        } catch {
            throw internalFailure(error, key: ShadowKey(thing: "-"))
        }
    }

    private func syncReply(_ changes: [ShadowChange], cursor: Int64, latest: Int64, limit: Int)
        async throws(ShadowError)
        -> Value
    {
        let more = changes.count > limit
        let page = changes.prefix(limit)
        var entries: [Value] = []
        entries.reserveCapacity(page.count)
        for change in page { entries.append(try await syncEntry(change)) }
        return Self.syncReply(
            cursor: Self.cursor(after: page, from: cursor, latest: latest, more: more), entries: entries, more: more)
    }

    /// A gateway sync reply, `{"cursor", "changes", "more"}`: over HTTP and on the MQTT stream alike.
    package static func syncReply(cursor: Int64, entries: [Value], more: Bool) -> Value {
        var reply = JSONObject()
        reply.appendUnique(key: "cursor", value: .int(cursor))
        reply.appendUnique(key: "changes", value: .array(entries))
        reply.appendUnique(key: "more", value: .bool(more))
        return .object(reply)
    }

    /// One entry of a sync reply: the shadow's current desired state and delta, or its deletion.
    private func syncEntry(_ change: ShadowChange) async throws(ShadowError) -> Value {
        let record: ShadowRecord?
        do {
            record = try await storage.record(for: change.key)
        } catch {
            throw internalFailure(error, key: change.key)
        }
        var entry = JSONObject()
        entry.appendUnique(key: "thing", value: .string(change.key.thing))
        entry.appendUnique(key: "shadow", value: change.key.name.map(Value.string) ?? .null)
        if let live = record?.live {
            entry.appendUnique(key: "version", value: .int(live.version))
            entry.appendUnique(key: "timestamp", value: .int(live.timestamp))
            entry.appendUnique(key: "deleted", value: false)
            entry.appendUnique(key: "desired", value: live.desired.map(Value.object) ?? .null)
            entry.appendUnique(key: "delta", value: live.delta.map(Value.object) ?? .object(JSONObject()))
        } else {
            entry.appendUnique(key: "version", value: .int(record?.version ?? change.version))
            entry.appendUnique(key: "timestamp", value: .int(record?.timestamp ?? change.timestamp))
            entry.appendUnique(key: "deleted", value: true)
        }
        return .object(entry)
    }

    /// Where a reader of `page` (read after `cursor`, when the change log had reached `latest`)
    /// continues: after the page's last change when it was cut short, else at the newest change.
    private static func cursor(after page: ArraySlice<ShadowChange>, from cursor: Int64, latest: Int64, more: Bool)
        -> Int64
    {
        if more, let last = page.last { return last.sequence }
        return max(cursor, latest, page.last?.sequence ?? 0)
    }
}
