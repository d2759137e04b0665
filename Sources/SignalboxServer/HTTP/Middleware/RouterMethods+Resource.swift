import Hummingbird

extension RouterMethods {
    /// Routes the methods of `path` to `handlers` (HEAD to GET's handler, without the body), and every
    /// other standard method to 405, so a known path never answers 404 for a method it does not take.
    @discardableResult
    func resource(
        _ path: RouterPath, _ handlers: [HTTPRequest.Method: @Sendable (Request, Context) async throws -> Response]
    ) -> Self {
        var handlers = handlers
        if let get = handlers[.get], handlers[.head] == nil {
            handlers[.head] = { request, context in try await get(request, context).createHeadResponse() }
        }
        for method in standardMethods {
            on(path, method: method, use: handlers[method] ?? { _, _ in throw APIError.methodNotAllowed })
        }
        return self
    }
}

/// The methods of RFC 9110 and PATCH.
private let standardMethods: [HTTPRequest.Method] = [
    .get, .head, .post, .put, .delete, .connect, .options, .trace, .patch,
]
