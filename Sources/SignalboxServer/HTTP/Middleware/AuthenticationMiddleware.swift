import Hummingbird
import SignalboxCore

/// Authenticates the caller from the headers alone, before anything costly (an ingest place, the
/// body): 401 without credentials or with bad ones, on every path, known or not. The body, when the
/// credentials sign it, is checked by ``BodyMiddleware``.
///
/// A caller whose signature waits for the body learns nothing before it is checked: a path that does
/// not exist is answered 404 only once the body has proven the signature (401 otherwise).
struct AuthenticationMiddleware: SignalboxMiddleware {
    let authenticator: Authenticator
    /// Reads the body to prove credentials before an answer that would tell something.
    let prover: BodyMiddleware

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        guard request.headers[.authorization] != nil else {
            throw APIError.unauthorized("Missing Authorization header")
        }
        var context = context
        let credentials = try await authenticator.authenticateHeaders(
            AuthenticationRequest(
                method: request.method.rawValue, rawPath: context.target.rawPath, rawQuery: context.target.rawQuery,
                headers: Self.headerMap(request), body: []))
        context.credentials = credentials
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && !credentials.isProven {
            // No route matched, so no body was read: prove the signature first.
            _ = try await prover.read(request, credentials: credentials)
            throw error
        }
    }

    /// The headers by lower-cased name, with `host` from the authority when the request has no such header.
    private static func headerMap(_ request: Request) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        for field in request.headers {
            headers[field.name.canonicalName.lowercased(), default: []].append(field.value)
        }
        if headers["host"] == nil, let authority = request.head.authority {
            headers["host"] = [authority]
        }
        return headers
    }
}

/// Lets only admins through: 403 for gateways, before their bodies are read (once the body has proven
/// a signature that waits for it, so that a token id alone does not tell its role).
struct AdminMiddleware: SignalboxMiddleware {
    let prover: BodyMiddleware

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        guard try context.principal == .admin else {
            if context.credentials?.isProven == false {
                _ = try await prover.read(request, credentials: context.credentials)
            }
            throw APIError.forbidden
        }
        return try await next(request, context)
    }
}
