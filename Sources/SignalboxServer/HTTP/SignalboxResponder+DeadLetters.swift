import Hummingbird
import SignalboxCore
import SignalboxJSON

extension SignalboxResponder {
    /// `GET /admin/dead-letters?after=&limit=`: `{"dead_letters": [...], "next_after": id|null, "total": N}`,
    /// oldest first (limit 1–1,000, default 100).
    func deadLetters(query: [String: String]) async throws -> Response {
        let storage = try rulesControl().deadLetters
        var after: Int64 = 0
        if let text = query["after"] {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest("after must be a non-negative integer")
            }
            after = value
        }
        var limit = 100
        if let text = query["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.badRequest("limit must be between 1 and 1000")
            }
            limit = value
        }
        let (letters, total) = try await deadLetterCall {
            (try await storage.list(after: after, limit: limit), try await storage.count())
        }
        let next: Value = letters.count == limit ? letters.last.map { .int($0.id) } ?? .null : .null
        return json([
            "dead_letters": .array(letters.map(RuntimeJSON.deadLetter)), "next_after": next,
            "total": .int(Int64(total)),
        ])
    }

    /// `POST /admin/dead-letters/{id}/retry`: runs the action again inside the server.
    ///
    /// 200 when it succeeded (the dead letter is gone), 502 with the error when it failed again (the
    /// dead letter stays), 404 for an unknown id, 409 when its rule or action is no longer active.
    func retryDeadLetter(_ id: Int64) async throws -> Response {
        switch try await rulesControl().retryDeadLetter(id) {
        case .delivered:
            logger.info("dead letter delivered", metadata: ["deadletter.id": "\(id)"])
            return json(["id": .int(id), "delivered": true])
        case .failed(let error):
            throw APIError(.badGateway, "ActionFailedException", "The action failed again: \(error)")
        case .notFound:
            throw APIError.notFound("No dead letter with id \(id)")
        case .ruleGone:
            throw APIError.conflict(
                "The rule or action of dead letter \(id) is no longer in the active rules; it was kept")
        }
    }

    /// `DELETE /admin/dead-letters/{id}`: 200 `{"id", "deleted": true}`, or 404.
    func deleteDeadLetter(_ id: Int64) async throws -> Response {
        let storage = try rulesControl().deadLetters
        guard try await deadLetterCall({ try await storage.remove(id) }) else {
            throw APIError.notFound("No dead letter with id \(id)")
        }
        logger.info("dead letter deleted", metadata: ["deadletter.id": "\(id)"])
        return json(["id": .int(id), "deleted": true])
    }

    /// A dead letter's id from the path: a positive integer, else 400.
    static func deadLetterID(_ text: String) throws(APIError) -> Int64 {
        guard let id = Int64(text), id > 0 else { throw APIError.badRequest("A dead letter id is a positive integer") }
        return id
    }

    /// Runs a dead-letter store call; a failure is a bare 500, logged.
    func deadLetterCall<T>(_ operation: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await operation()
        } catch {
            logger.error("dead-letter store failed", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalFailure
        }
    }
}
