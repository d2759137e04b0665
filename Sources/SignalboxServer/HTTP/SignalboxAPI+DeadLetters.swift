import Hummingbird
import SignalboxCore
import SignalboxJSON

extension SignalboxAPI {
    /// `GET /admin/dead-letters?after=&limit=`: `{"dead_letters": [...], "next_after": id|null, "total": N}`,
    /// oldest first (limit 1–1,000, default 100).
    func deadLetters(_ request: Request, _ context: Context) async throws -> Response {
        let storage = try rulesControl().deadLetters
        let after = try context.target.integer("after", in: 0...Int64.max) ?? 0
        let limit = try context.target.integer("limit", in: 1...1000) ?? 100
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
    func retryDeadLetter(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Self.deadLetterID(context)
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
    func deleteDeadLetter(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Self.deadLetterID(context)
        let storage = try rulesControl().deadLetters
        guard try await deadLetterCall({ try await storage.remove(id) }) else {
            throw APIError.notFound("No dead letter with id \(id)")
        }
        logger.info("dead letter deleted", metadata: ["deadletter.id": "\(id)"])
        return json(["id": .int(id), "deleted": true])
    }

    /// A dead letter's id from the path: a positive integer, else 400.
    static func deadLetterID(_ context: Context) throws(APIError) -> Int64 {
        guard let id = Int64(try context.parameter("id")), id > 0 else {
            throw APIError.badRequest("A dead letter id is a positive integer")
        }
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
