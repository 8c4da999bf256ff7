"""The store console's words, in Chinese (the default: the people using it are Chinese
supermarket staff) and in English (`?lang=en`)."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "门店线上订单", "en": "Store online orders"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "or_token": {"zh": "或使用令牌登录", "en": "Or sign in with a token"},
    "token": {"zh": "令牌", "en": "Token"},
    "bad_sign_in": {
        "zh": "用户名或密码不正确。",
        "en": "The username or password is not right.",
    },
    "slowed": {
        "zh": "登录失败次数过多，请 {s} 秒后再试。",
        "en": "Too many failed sign-ins: try again in {s} seconds.",
    },
    "worklist": {"zh": "待处理订单", "en": "Work list"},
    "handover": {"zh": "柜台取货", "en": "Till hand-over"},
    "ops": {"zh": "运营异常", "en": "Operations"},
    "location": {"zh": "门店", "en": "Location"},
    "to_accept": {"zh": "待接单", "en": "To accept"},
    "to_pick": {"zh": "待拣货", "en": "To pick"},
    "to_hand_over": {"zh": "待取货", "en": "To hand over"},
    "to_ship": {"zh": "待发货", "en": "To ship"},
    "nothing": {"zh": "暂无", "en": "Nothing here"},
    "accept": {"zh": "接单", "en": "Accept"},
    "reject": {"zh": "拒单", "en": "Reject"},
    "reject_reason": {"zh": "拒单原因", "en": "Why"},
    "pick": {"zh": "拣货", "en": "Pick"},
    "ship": {"zh": "发货", "en": "Ship"},
    "ship_selected": {"zh": "批量发货", "en": "Ship the selected"},
    "select": {"zh": "选择", "en": "Select"},
    "delivery": {"zh": "配送", "en": "Delivery"},
    "pickup": {"zh": "自提", "en": "Pickup"},
    "order": {"zh": "订单", "en": "Order"},
    "recipient": {"zh": "收货人", "en": "Recipient"},
    "address": {"zh": "地址", "en": "Address"},
    "phone": {"zh": "电话", "en": "Phone"},
    "accept_left": {"zh": "接单剩余", "en": "Left to accept"},
    "collect_left": {"zh": "取货剩余", "en": "Left to collect"},
    "overdue": {"zh": "已超时", "en": "overdue"},
    "minutes": {"zh": "{m} 分钟", "en": "{m} min"},
    "hours": {"zh": "{h} 小时 {m} 分钟", "en": "{h} h {m} min"},
    "new_order": {"zh": "新订单！", "en": "New order!"},
    "item": {"zh": "商品", "en": "Item"},
    "ordered": {"zh": "应拣", "en": "Ordered"},
    "picked": {"zh": "已拣", "en": "Picked"},
    "scan": {
        "zh": "扫码或输入商品编码，回车加一件",
        "en": "Scan or type an item code; Enter adds one",
    },
    "ships_together": {
        "zh": "合并发货 {shipment}：同一顾客同一地址，一次发货一起寄出",
        "en": "Ships together ({shipment}): one member, one address, one parcel",
    },
    "substitutions": {"zh": "缺货替换", "en": "Substitutions"},
    "substitution_line": {
        "zh": "{sku} 缺 {qty}，以 {with_sku} 替换",
        "en": "{qty} of {sku} short, {with_sku} instead",
    },
    "substitution_proposed": {"zh": "等待顾客答复", "en": "waiting for the member"},
    "substitution_approved": {"zh": "顾客同意", "en": "approved"},
    "substitution_declined": {"zh": "不替换，已退款", "en": "declined, refunded"},
    "substitution_withdrawn": {"zh": "已撤回", "en": "withdrawn"},
    "waiting_answer": {
        "zh": "替换建议等待顾客答复：答复后（或等待时间到）再确认拣货",
        "en": "A replacement waits for the member's answer: confirm the pick once it is answered "
        "(or its wait is over)",
    },
    "propose_substitution": {"zh": "缺货？建议替换商品", "en": "Short? Propose a replacement"},
    "short_item": {"zh": "缺货商品", "en": "Item short"},
    "replacement_sku": {"zh": "替换商品编码", "en": "Replacement SKU"},
    "missing_qty": {"zh": "缺货数量（称重商品为克）", "en": "Missing quantity (grams by weight)"},
    "ask_member": {"zh": "询问顾客", "en": "Ask the member"},
    "scan_unknown": {"zh": "不在此单中：{code}", "en": "Not on this part: {code}"},
    "confirm_pick": {"zh": "确认拣货", "en": "Confirm the pick"},
    "shortage": {"zh": "缺货确认", "en": "Confirm the shortage"},
    "shortage_note": {
        "zh": "以下商品缺货，将退款给会员：",
        "en": "These items are short; the member is refunded:",
    },
    "short_line": {"zh": "{name}：缺 {n} 件", "en": "{name}: {n} short"},
    "short_grams": {"zh": "{name}：少 {n} 克", "en": "{name}: {n} g short"},
    "refund_total": {"zh": "退款合计 {amount}", "en": "Refund {amount} in all"},
    "confirm_short": {"zh": "确认缺货并提交", "en": "Confirm the shortage and record the pick"},
    "back": {"zh": "返回", "en": "Back"},
    "picked_done": {"zh": "拣货已记录。", "en": "The pick is recorded."},
    "refunded": {"zh": "缺货退款 {amount} 已发起。", "en": "A refund of {amount} is on its way."},
    "carrier": {"zh": "快递公司", "en": "Carrier"},
    "tracking": {"zh": "运单号", "en": "Tracking number"},
    "confirm_ship": {"zh": "确认发货", "en": "Confirm shipment"},
    "shipped_done": {"zh": "已发货。", "en": "Shipped."},
    "picking_slip": {"zh": "拣货单", "en": "Picking slip"},
    "shipping_slip": {"zh": "发货单", "en": "Shipping slip"},
    "print": {"zh": "打印", "en": "Print"},
    "code": {"zh": "取货码", "en": "Pickup code"},
    "find": {"zh": "查找", "en": "Find"},
    "hand_over_these": {"zh": "请交付以下商品：", "en": "Hand over these goods:"},
    "confirm_handover": {"zh": "确认交付", "en": "Confirm the hand-over"},
    "handed_over": {"zh": "已交付，订单完成。", "en": "Handed over."},
    "no_such_code": {
        "zh": "取货码不正确（还可尝试 {n} 次）。",
        "en": "The code does not match a part waiting here ({n} tries left).",
    },
    "locked": {
        "zh": "错误次数过多，请 {m} 分钟后再试。",
        "en": "Too many wrong codes: try again in {m} minutes.",
    },
    "refused": {"zh": "操作未完成：{why}", "en": "Not done: {why}"},
    "exceptions": {"zh": "异常", "en": "Exceptions"},
    "near_deadline": {"zh": "即将超时未接单", "en": "Close to their accept deadline"},
    "unserved": {"zh": "无门店可接的订单", "en": "Parts nobody could serve"},
    "refunds_pending": {"zh": "处理中的退款", "en": "Refunds pending"},
    "refunds_failed": {"zh": "失败的退款", "en": "Refunds failed"},
    "member_conflicts": {"zh": "会员资料冲突", "en": "Member conflicts"},
    "low_credit": {"zh": "信用分低于下限的门店", "en": "Stores below the credit floor"},
    "in_temporal": {"zh": "在 Temporal 中查看", "en": "In Temporal UI"},
    "amount": {"zh": "金额", "en": "Amount"},
    "credit": {"zh": "信用分", "en": "Credit score"},
    "language": {"zh": "English", "en": "中文"},
    "choose_location": {"zh": "选择门店", "en": "Choose a location"},
    "forbidden": {"zh": "无权访问。", "en": "Not yours to see."},
    "not_found": {"zh": "没有找到。", "en": "Not found."},
    "ok": {"zh": "确定", "en": "OK"},
    "run_by_wms": {
        "zh": "由仓库作业系统拣货发货",
        "en": "Picked and shipped by the warehouse's execution system",
    },
    "tracking_optional": {
        "zh": "留空则由快递公司出单号",
        "en": "Leave empty: the carrier issues one",
    },
    "carrier_default": {"zh": "留空则按快递策略", "en": "Leave empty: by the carrier rules"},
    "label": {"zh": "打印面单", "en": "Label"},
    "no_waybill": {
        "zh": "尚无运单号：发货时生成。",
        "en": "No waybill yet: it is issued at shipment.",
    },
    "less": {"zh": "减一件：{name}", "en": "One less: {name}"},
    "more": {"zh": "加一件：{name}", "en": "One more: {name}"},
    "select_part": {"zh": "选择 {fid}", "en": "Select {fid}"},
    "new_orders": {"zh": "有 {n} 个新订单待接单", "en": "{n} new orders to accept"},
    "accepted_done": {"zh": "已接单。", "en": "Accepted."},
    "rejected_done": {"zh": "已拒单，订单将转给其他门店。", "en": "Rejected: the part moves on."},
    "missing": {"zh": "缺少{what}", "en": "{what} missing"},
    "nothing_selected": {
        "zh": "没有选择订单：请勾选要发货的订单。",
        "en": "Nothing selected: tick the parts to ship.",
    },
    "shipped_n": {"zh": "已发货 {n} / {of} 单。", "en": "{n} of {of} shipped."},
    "enter_code": {"zh": "请输入取货码。", "en": "Type the member's pickup code."},
    "handed_over_these": {"zh": "已交付的商品：", "en": "Handed over:"},
    "part_at": {"zh": "{at} 的 {fid}", "en": "{fid} at {at}"},
    "error_invalid_transition": {
        "zh": "订单当前状态不允许此操作（可能已被处理），请刷新。",
        "en": "The part is not at that step any more (someone may have done it): reload.",
    },
    "error_already_shipped": {"zh": "已经发货。", "en": "Already shipped."},
    "error_wrong_pickup_code": {"zh": "取货码不正确。", "en": "The pickup code is wrong."},
    "error_too_many_attempts": {
        "zh": "错误次数过多，已锁定，请稍后再试。",
        "en": "Too many wrong codes: locked for now.",
    },
    "error_not_found": {"zh": "没有找到。", "en": "Not found."},
    "error_unavailable": {
        "zh": "系统暂时不可用，请稍后重试。",
        "en": "The order service is unavailable: try again shortly.",
    },
    "csrf": {
        "zh": "表单已过期或来自其他网站，请刷新后重试。",
        "en": "The form came from elsewhere or is stale: reload and try again.",
    },
}


def translator(lang: str) -> Callable[..., str]:
    """`t("key", **values)` in `lang`."""

    def t(key: str, **values: object) -> str:
        text = TEXT.get(key, {}).get(lang) or TEXT.get(key, {}).get("zh") or key
        return text.format(**values) if values else text

    return t
