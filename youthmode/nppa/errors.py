"""NPPA answers as typed errors, by the error codes of the interface specification.

Every error carries the API it came from, the NPPA `errcode` (0 when the failure was ours:
a timeout, a refused connection, a local rate limit) and why, in zh-CN and en. What a caller
should do follows from the type: `NppaUnavailable` and `NppaThrottled` are worth retrying
later; `NppaConfigError` needs an operator (keys, IP whitelist, permissions); `NppaRejected`
will fail the same way again.
"""

from __future__ import annotations

from youthmode.errors import YouthmodeError

# errcode -> (zh-CN, en), as the specification names them.
MESSAGES: dict[int, tuple[str, str]] = {
    1001: ("系统错误", "system error"),
    1002: ("接口请求的资源不存在", "the requested resource does not exist"),
    1003: ("接口请求方式错误", "wrong request method"),
    1004: ("接口请求核心参数缺失", "a required header is missing"),
    1005: ("接口请求IP地址非法", "the caller's IP address is not whitelisted"),
    1006: ("接口请求超出流量限制", "rate limit exceeded"),
    1007: ("接口请求过期", "the request expired (timestamps too old)"),
    1008: ("接口请求方身份非法", "unknown appId"),
    1009: ("接口请求方权限未启用", "the caller's access is not enabled"),
    1010: ("接口请求方无该接口权限", "no permission for this interface"),
    1011: ("接口请求方身份核验错误", "signature or identity check failed"),
    1012: ("接口请求报文核验失败", "the body failed verification"),
    2001: ("身份证号格式校验失败", "malformed ID number"),
    2002: ("实名认证条目已达上限", "real-name check quota reached"),
    2003: ("无该编码提交的实名认证记录", "no check was submitted with this ai"),
    2004: ("编码已经被占用", "this ai is already in use"),
    3001: ("行为数据部分上报失败", "some behaviour records were rejected"),
    3002: ("行为数据为空", "no behaviour records"),
    3003: ("行为数据超出条目数量限制", "more than 128 behaviour records"),
    3004: ("行为数据编码错误", "bad record number `no`"),
    3005: ("行为发生时间错误", "bad behaviour time `ot`"),
    3006: ("用户类型无效", "bad user type `ct`"),
    3007: ("行为类型无效", "bad behaviour type `bt`"),
    3008: ("缺失PI（用户唯一标识）值", "missing `pi`"),
    3009: ("缺失DI（设备标识）值", "missing `di`"),
    3010: ("PI（用户唯一标识）值无效", "invalid `pi`"),
    4001: ("测试系统错误", "test system error"),
    4002: ("测试任务不存在", "test task not found (enable it in the console)"),
    4003: ("测试参数无效", "invalid test parameters"),
}
THROTTLED = 1006
EXPIRED = 1007
# An operator must act (whitelist, keys, permissions): retrying will not help.
CONFIG_CODES = frozenset({1005, 1008, 1009, 1010, 1011})
TRANSIENT_CODES = frozenset({1001})


def describe(code: int) -> tuple[str, str]:
    return MESSAGES.get(code, ("未知错误", f"unknown NPPA error {code}"))


class NppaError(YouthmodeError):
    """A call to the NPPA system that did not succeed."""

    def __init__(self, api: str, code: int, detail: str) -> None:
        self.api, self.code, self.detail = api, code, detail
        zh, en = describe(code) if code else ("", detail)
        self.message_zh, self.message_en = zh or detail, en
        super().__init__(f"NPPA `{api}`: {detail}" + (f" (errcode {code})" if code else ""))


class NppaUnavailable(NppaError):
    """No usable answer: a timeout, a refused connection, an HTTP error or error 1001.
    Nothing is known to have been applied; retry later."""


class NppaThrottled(NppaError):
    """Error 1006, or our own bucket or back-off said no before sending: retry after
    ``retry_after`` seconds."""

    def __init__(self, api: str, code: int, detail: str, retry_after: float) -> None:
        super().__init__(api, code, detail)
        self.retry_after = retry_after


class NppaExpired(NppaError):
    """Error 1007: the `timestamps` header was older than the NPPA accepts (5 s); our clock
    or the network is slow. Signed again with a new timestamp, the request may pass."""


class NppaConfigError(NppaError):
    """Errors 1005, 1008-1011: whitelist, app id, permission or signature. An operator must
    fix the configuration; nothing will pass until then."""


class NppaRejected(NppaError):
    """The NPPA refused the request itself (bad ID number, `ai` in use, bad records, ...);
    sent again unchanged it fails again."""


def error_for(api: str, code: int, errmsg: str) -> NppaError:
    """The typed error of a non-zero ``code`` (``errmsg`` as the NPPA gave it)."""
    detail = errmsg or describe(code)[1]
    if code == THROTTLED:
        return NppaThrottled(api, code, detail, retry_after=60.0)
    if code == EXPIRED:
        return NppaExpired(api, code, detail)
    if code in CONFIG_CODES:
        return NppaConfigError(api, code, detail)
    if code in TRANSIENT_CODES:
        return NppaUnavailable(api, code, detail)
    return NppaRejected(api, code, detail)
