import Logging
import SignalboxCore
import SignalboxSQL

/// The parts of a request authentication looks at.
package struct AuthenticationRequest: Sendable {
    /// `GET`, `POST`, …
    package var method: String
    /// The path as sent, still percent-encoded.
    package var rawPath: String
    /// The query as sent (without `?`), or `nil`.
    package var rawQuery: String?
    /// Header values by lower-case name; `host` holds the request's authority.
    package var headers: [String: [String]]
    /// The body.
    package var body: [UInt8]

    /// Creates a request.
    package init(method: String, rawPath: String, rawQuery: String?, headers: [String: [String]], body: [UInt8]) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }
}

/// Turns a request's credentials into a ``Principal``.
///
/// Accepts `Authorization: Bearer <id>.<secret>` and AWS Signature Version 4
/// (`Authorization: AWS4-HMAC-SHA256 …` with `X-Amz-Date`, any region and service name), where the
/// access key id is the token id and the secret access key its secret. Every failure is a 401 whose
/// message never includes a secret.
package struct Authenticator: Sendable {
    /// Where tokens are looked up.
    package let registry: any IdentityRegistry
    /// Checks bearer secrets and unseals SigV4 secrets.
    package let vault: TokenVault
    /// Largest accepted difference between `X-Amz-Date` and the clock, in seconds.
    package let maxSkewSeconds: Int64
    /// Seconds since the Unix epoch.
    package let clock: @Sendable () -> Int64
    /// Token records looked up in the last second.
    let cache = TokenCache()
    private let logger: Logger

    /// Creates an authenticator.
    package init(
        registry: any IdentityRegistry, vault: TokenVault, maxSkewSeconds: Int64 = 900,
        clock: @escaping @Sendable () -> Int64 = { WallClock.system.seconds() },
        logger: Logger = Logger(label: "signalbox.auth")
    ) {
        self.registry = registry
        self.vault = vault
        self.maxSkewSeconds = maxSkewSeconds
        self.clock = clock
        self.logger = logger
    }

    /// The principal `request` authenticates as, its body included.
    ///
    /// - Throws: ``APIError`` 401 for missing or bad credentials, 500 when the registry fails.
    package func authenticate(_ request: AuthenticationRequest) async throws(APIError) -> Principal {
        let credentials = try await authenticateHeaders(request)
        try credentials.verify(body: request.body)
        return credentials.principal
    }

    /// What `request`'s headers prove, before its body is read (``AuthenticationRequest/body`` is not
    /// looked at): a bearer token is checked whole; a SigV4 signature is checked when the request
    /// declares its payload hash (`X-Amz-Content-SHA256`), and otherwise only its key, date and
    /// signed headers, the signature itself being checked with the body.
    ///
    /// - Throws: ``APIError`` 401 for missing or bad credentials, 500 when the registry fails.
    package func authenticateHeaders(_ request: AuthenticationRequest) async throws(APIError) -> HeaderCredentials {
        guard let header = request.headers["authorization"]?.first else {
            throw .unauthorized("Missing Authorization header")
        }
        let record: TokenRecord
        var bodyCheck: HeaderCredentials.BodyCheck?
        if header.prefix(7).lowercased() == "bearer " {
            record = try await bearer(header.dropFirst(7).drop { $0 == " " })
        } else if header.hasPrefix(SigV4.algorithm + " ") {
            (record, bodyCheck) = try await sigV4(header, request: request)
        } else {
            throw .unauthorized("Unsupported Authorization scheme; use Bearer or AWS4-HMAC-SHA256")
        }
        let principal: Principal
        switch record.role {
        case .admin: principal = .admin
        case .gateway:
            guard let gateway = record.gateway else { throw .unauthorized() }
            principal = .gateway(gateway)
        }
        return HeaderCredentials(principal: principal, bodyCheck: bodyCheck)
    }

    private func lookUp(_ id: some StringProtocol) async throws(APIError) -> TokenRecord? {
        let id = String(id)
        let now = clock()
        if let cached = cache.record(id: id, now: now) { return cached }
        do {
            let record = try await registry.token(id: id)
            if let record { cache.insert(record, now: now) }
            return record
        } catch {
            logger.error("token lookup failed", metadata: ["error": "\(String(describing: error))"])
            throw .internalFailure
        }
    }

    private func bearer(_ token: Substring) async throws(APIError) -> TokenRecord {
        guard let (id, secret) = TokenVault.parse(bearer: token) else { throw .unauthorized("Malformed bearer token") }
        guard let record = try await lookUp(id), vault.verify(secret: String(secret), against: record) else {
            throw .unauthorized()
        }
        return record
    }

    private func sigV4(_ header: String, request: AuthenticationRequest) async throws(APIError) -> (
        TokenRecord, HeaderCredentials.BodyCheck
    ) {
        guard let authorization = SigV4.Authorization(header: header) else {
            throw .unauthorized("Malformed AWS4-HMAC-SHA256 Authorization header")
        }
        guard authorization.signedHeaders.contains("host"), authorization.signedHeaders.contains("x-amz-date") else {
            throw .unauthorized("The signature must cover the host and x-amz-date headers")
        }
        // SigV4 signs the path with its empty, `.` and `..` segments removed, so a path with any would
        // carry the signature of another path: refused, before anything is looked up.
        guard SigV4.canonicalURI(request.rawPath) == PercentEncoding.encode(request.rawPath, keeping: "/") else {
            throw .badRequest(
                "The request path has empty, '.' or '..' segments, which a signature does not cover; "
                    + "encode a topic's '/' as %2F")
        }
        guard let amzDate = request.headers["x-amz-date"]?.first, let time = SigV4.epochSeconds(amzDate: amzDate),
            amzDate.hasPrefix(authorization.date)
        else {
            throw .unauthorized("Missing or malformed X-Amz-Date header")
        }
        guard abs(time - clock()) <= maxSkewSeconds else {
            throw .unauthorized("Signature expired: X-Amz-Date is too far from the server's clock")
        }
        for name in authorization.signedHeaders where request.headers[name] == nil {
            throw .unauthorized("Signed header '\(name)' is missing")
        }
        guard let record = try await lookUp(authorization.accessKeyID) else { throw .unauthorized() }
        guard !record.sealedSecret.isEmpty else {
            throw .unauthorized("This token is bearer-only: send it as 'Authorization: Bearer <id>.<secret>'")
        }
        guard let secret = vault.unseal(record) else { throw .unauthorized() }
        let headers = request.headers
        let method = request.method
        let rawPath = request.rawPath
        let rawQuery = request.rawQuery
        let signature: @Sendable (_ payloadHash: String) -> Bool = { payloadHash in
            let canonical = SigV4.canonicalRequest(
                method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers,
                signedHeaders: authorization.signedHeaders, payloadHash: payloadHash)
            let stringToSign = SigV4.stringToSign(
                amzDate: amzDate, scope: authorization.scope, canonicalRequest: canonical)
            let expected = SigV4.signature(
                secret: secret, date: authorization.date, region: authorization.region,
                service: authorization.service, stringToSign: stringToSign)
            return constantTimeEqual(Array(expected.utf8), Array(authorization.signature.utf8))
        }
        // A declared payload hash lets the signature be checked now, and the body against the hash
        // once read; without one, the signature covers the body's hash and waits for it.
        if let declared = request.headers["x-amz-content-sha256"]?.first {
            let hash = declared.lowercased()
            guard hash.utf8.count == 64, hash.utf8.allSatisfy({ Self.isHexDigit($0) }) else {
                throw .unauthorized("X-Amz-Content-SHA256 must be the hex SHA-256 of the body")
            }
            guard signature(declared) else { throw Self.signatureMismatch }
            return (record, .payloadHash(hash))
        }
        return (record, .signature(signature))
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    static let signatureMismatch = APIError.unauthorized(
        "The request signature we calculated does not match the signature you provided")
}

/// What a request's headers proved: who sent it, and what its body must still show.
package struct HeaderCredentials: Sendable {
    /// What remains to check once the body is read.
    package enum BodyCheck: Sendable {
        /// The signature over the headers held; the body must hash to this (hex SHA-256).
        case payloadHash(String)
        /// The signature covers the body's hash: it holds when this returns true for it.
        case signature(@Sendable (_ payloadHash: String) -> Bool)
    }

    /// Who the headers say sent the request; final once ``verify(body:)`` passes.
    package var principal: Principal
    /// Nil for a bearer token: nothing is left to check.
    package var bodyCheck: BodyCheck?

    /// Whether the headers alone proved the principal (a bearer token, or a SigV4 signature over a
    /// declared payload hash); false while the signature waits for the body.
    package var isProven: Bool {
        if case .signature = bodyCheck { return false }
        return true
    }

    /// Checks `body` against what the headers declared.
    ///
    /// - Throws: ``APIError`` 401 when the body does not match its declared hash or the signature.
    package func verify(body: [UInt8]) throws(APIError) {
        switch bodyCheck {
        case nil: return
        case .payloadHash(let declared):
            guard SigV4.hexSHA256(body) == declared else {
                throw .unauthorized("X-Amz-Content-SHA256 does not match the body")
            }
        case .signature(let holds):
            guard holds(SigV4.hexSHA256(body)) else { throw Authenticator.signatureMismatch }
        }
    }
}
