import SignalboxCore
import SignalboxJSON

/// A parsed and validated shadow update request body.
///
/// For example, `{"state": {"desired": {"maxTemp": 5}}, "clientToken": "t1", "version": 3}`.
package struct ShadowUpdateRequest: Sendable, Hashable {
    /// What the request does to one state section.
    package enum SectionChange: Sendable, Hashable {
        /// The request does not mention the section.
        case unchanged
        /// `null`: delete the whole section.
        case delete
        /// Merge these members into the section.
        case merge(JSONObject)
    }

    /// The change to `state.desired`.
    package var desired: SectionChange
    /// The change to `state.reported`.
    package var reported: SectionChange
    /// The `state` node exactly as sent (`null` or an object), echoed in the accepted reply.
    package var state: Value
    /// The `clientToken`, echoed in every reply.
    package var clientToken: String?
    /// The `version` the caller expects the shadow to have; `nil` skips the check.
    package var version: Int64?

    /// Creates a request.
    package init(
        desired: SectionChange = .unchanged, reported: SectionChange = .unchanged, state: Value,
        clientToken: String? = nil, version: Int64? = nil
    ) {
        self.desired = desired
        self.reported = reported
        self.state = state
        self.clientToken = clientToken
        self.version = version
    }

    /// Whether the request writes the desired section (merging or deleting it).
    package var writesDesired: Bool {
        if case .unchanged = desired { return false }
        return true
    }
}

/// A parsed get or delete request body: AWS ignores its content except for the `clientToken`, which
/// replies echo.
package struct ShadowControlRequest: Sendable, Hashable {
    /// The `clientToken`, echoed in every reply.
    package var clientToken: String?

    /// Creates a request.
    package init(clientToken: String? = nil) {
        self.clientToken = clientToken
    }
}

extension ShadowEngine {
    /// Parses and validates an update request body.
    ///
    /// - Throws: ``ShadowError`` 413 for a body over the request limit, 415 for bytes that are not
    ///   UTF-8, 400 with AWS's message for everything else that is wrong.
    package func parseUpdate(_ body: [UInt8]) throws(ShadowError) -> ShadowUpdateRequest {
        let top = try parseObject(body)
        var request = ShadowUpdateRequest(state: .null)
        var sawState = false
        for member in top {
            switch member.key {
            case "state":
                sawState = true
                request.state = member.value
                switch member.value {
                case .null:
                    request.desired = .delete
                    request.reported = .delete
                case .object(let state):
                    try parseState(state, into: &request)
                default:
                    throw .stateNotObject
                }
            case "clientToken":
                request.clientToken = try clientToken(member.value)
            case "version":
                request.version = try version(member.value)
            default:
                // AWS ignores other top-level members (SDKs send e.g. "timestamp"); so do we.
                continue
            }
        }
        guard sawState else { throw .missingState }
        return request
    }

    private func parseState(_ state: JSONObject, into request: inout ShadowUpdateRequest) throws(ShadowError) {
        for member in state {
            let change: ShadowUpdateRequest.SectionChange
            switch member.value {
            case .null:
                change = .delete
            case .object(let section):
                // AWS counts the section itself as the first level: `"desired": {"a": {"b": 1}}` is 2 deep.
                if ShadowAlgebra.depth(member.value) > limits.maxDepth { throw .tooDeep(limits.maxDepth) }
                if ShadowAlgebra.containsNullInArray(member.value) { throw .nullInArray }
                change = .merge(section)
            default:
                switch member.key {
                case "desired": throw .desiredNotObject
                case "reported": throw .reportedNotObject
                default: throw .invalidStateNode
                }
            }
            switch member.key {
            case "desired": request.desired = change
            case "reported": request.reported = change
            default: throw .invalidStateNode
            }
        }
    }

    /// Parses the optional body of a get or delete request. AWS ignores the content of these bodies;
    /// only a valid `clientToken` is taken from it, to be echoed.
    package func parseControl(_ body: [UInt8]) -> ShadowControlRequest {
        ShadowControlRequest(clientToken: salvageClientToken(body))
    }

    /// The `clientToken` of a body that failed validation, if one can be read, so rejections can
    /// still echo it.
    package func salvageClientToken(_ body: [UInt8]) -> String? {
        guard body.count <= limits.maxRequestBytes,
            case .object(let top)? = try? JSONParser.parse(body),
            case .string(let token)? = top["clientToken"],
            !token.isEmpty, token.utf8.count <= limits.maxClientTokenBytes
        else { return nil }
        return token
    }

    private func parseObject(_ body: [UInt8]) throws(ShadowError) -> JSONObject {
        guard body.count <= limits.maxRequestBytes else { throw .payloadTooLarge }
        let value: Value
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw error.code == .invalidUTF8 ? .unsupportedEncoding : .invalidJSON
        }
        guard case .object(let object) = value else { throw .invalidJSON }
        return object
    }

    private func clientToken(_ value: Value) throws(ShadowError) -> String {
        guard case .string(let token) = value, !token.isEmpty, token.utf8.count <= limits.maxClientTokenBytes else {
            throw .invalidClientToken
        }
        return token
    }

    private func version(_ value: Value) throws(ShadowError) -> Int64 {
        guard case .int(let version) = value, version >= 0 else { throw .invalidVersion }
        return version
    }
}
