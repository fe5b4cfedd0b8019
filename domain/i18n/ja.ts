import type { Catalogue } from './catalogue';

export const ja: Catalogue = {
  'page.title': 'ギフトカード',
  'page.orderRef': 'ご注文番号：{orderId}',
  'page.support': 'お問い合わせ：{support}',
  'support.default': '販売店のカスタマーサポート',

  'landing.heading': 'ギフトカードの準備ができました',
  'landing.summary': 'ギフトカード{count, plural, other {#枚}} · このリンクの有効期限：{expires, date, utc}',
  'landing.once':
    'このリンクは1回だけ使えます。「表示」を押すとコードがこの画面に{seconds, plural, other {#秒間}}表示され、「ダウンロード」を押すとファイルとして保存されます。どちらを使ってもリンクは使用済みになります。',
  'landing.reveal': '表示',
  'landing.downloadText': 'ダウンロード（テキスト）',
  'landing.downloadPdf': 'ダウンロード（PDF）',
  'landing.privacy': 'コードを表示する前に、画面を他の人に見られていないことを確認してください。',

  'reveal.card': 'ギフトカード {n}',
  'reveal.code': 'コード',
  'reveal.serial': 'シリアル番号',
  'reveal.barcode': 'このカードのコードのバーコード（{format}）',
  'reveal.qrcode': 'このカードのコードのQRコード',
  'reveal.copy': 'コードをコピー',
  'reveal.copied': 'コードをコピーしました。クリップボードは{seconds, plural, other {#秒後}}に消去されます。',
  'reveal.copiedKept':
    'コードをコピーしました。お使いのブラウザではこのページからクリップボードを消去できません。コードを貼り付けたら、別のものをコピーしてください。',
  'reveal.cleared': 'クリップボードを消去しました。',
  'reveal.copyFailed': 'コードをコピーできませんでした。コードを選択してご自身でコピーしてください。',
  'reveal.clipboardCaution':
    'コピーしたコードはクリップボードに残り、他のアプリから読み取られる可能性があります。ブラウザが許可する場合、このページは{seconds, plural, other {#秒後}}にクリップボードを消去します。早めに貼り付けてください。',
  'reveal.print': '印刷',
  'reveal.hideAfter':
    'これらのコードは{seconds, plural, other {#秒後}}に非表示になります。今すぐ使うか、書き留めてください。',
  'reveal.secondsLeft': '残り秒数：',
  'reveal.hideNow': '今すぐ非表示',
  'reveal.hiddenHeading': 'コードは非表示になりました',
  'reveal.hiddenText':
    'このリンクは1回しか使えないため、コードを再表示することはできません。新しいリンクが必要な場合は、{support}にご注文番号 {orderId} をお伝えください。',
  'reveal.noscript':
    'コードを使用または保存したら、このページを閉じてください。このリンクでコードを再表示することはできません。新しいリンクが必要な場合は、ご注文番号 {orderId} を添えて{support}にお問い合わせください。',

  'download.title': 'ご注文 {orderId} のギフトカード',
  'download.private': 'このファイルは他人に見せないでください。コードを知っている人は誰でも使用できます。',

  'error.notFound.heading': 'このリンクは無効です',
  'error.notFound.text': 'メールに記載されたリンクを最後まで正しく開いたかご確認ください。',
  'error.gone.heading': 'このリンクは使用済みか、有効期限が切れています',
  'error.gone.text':
    'ギフトカードのリンクは1回だけ、期間限定で使えます。まだギフトカードが必要な場合は、{support}に新しいリンクをご依頼ください。',
  'error.purged.heading': 'これらのギフトカードはもう利用できません',
  'error.purged.text':
    'このリンクのギフトカードはもう表示できません。お困りの場合は{support}にお問い合わせください。',
  'error.unavailable.heading': '一時的に利用できません',
  'error.unavailable.text':
    '現在ギフトカードを開けませんでした。リンクは使用済みになっていません。数分後にもう一度お試しください。',
  'error.tooManyRequests.heading': 'リクエストが多すぎます',
  'error.tooManyRequests.text': '1分ほど待ってから、もう一度お試しください。',
  'error.badRequest.heading': 'このリクエストを処理できませんでした',
  'error.badRequest.text': '前のページに戻って、もう一度お試しください。',
  'error.pageNotFound.heading': 'ページが見つかりません',
  'error.pageNotFound.text': 'このアドレスには何もありません。',
  'error.serverError.heading': '問題が発生しました',
  'error.serverError.text': '数分後にもう一度お試しください。',

  'mail.hello': 'こんにちは。',
  'mail.footer':
    'このメールは、あなたのためにギフトカードが購入されたためお送りしています。ギフトカードのコードをメールで送ることはなく、お尋ねすることもありません。',
  'mail.link.subject': 'ギフトカードのお届け（ご注文 {orderRef}）',
  'mail.link.heading': 'ギフトカードの準備ができました',
  'mail.link.ready': 'ご注文 {orderRef} のギフトカード（{count, plural, other {#枚}}）の準備ができました。',
  'mail.link.replaces':
    'このメールは、同じギフトカードについての以前のメールに代わるものです。以前のメールのリンクはもう使えません。',
  'mail.link.open': '次のリンクを開いて、表示またはダウンロードしてください：',
  'mail.link.button': 'ギフトカードを開く',
  'mail.link.once':
    'このリンクは1回だけ使え、{expires, date, utc}に有効期限が切れます。カードを表示またはダウンロードするとリンクは使えなくなるため、コードは安全な場所に保管してください。期限が切れた場合は、{support}に新しいリンクをご依頼ください。',
  'mail.notice.subject': 'ギフトカードのご注文 {orderRef} について',
  'mail.notice.heading': 'ギフトカードのご注文について',
  'mail.notice.failed': 'ギフトカードのご注文を完了できませんでした。',
  'mail.notice.cancelled': 'ギフトカードのご注文はキャンセルされました。',
  'mail.notice.deadline': 'ギフトカードのご注文を期限内に完了できませんでした。',
  'mail.notice.some':
    '{quantity, plural, other {#枚}}のうち{delivered}枚を別のメールでお届けしました。残りはお届けできません。',
  'mail.notice.none': 'お届けできたカードはありません。',
  'mail.notice.questions': 'ご不明な点は、ご注文番号を添えて{support}にお問い合わせください。',
  'mail.notice.ref': 'ご注文番号：{orderRef}',
  'mail.notice.recipient-changed':
    'このご注文のギフトカードへのリンクを記載したメールをこのアドレスにお届けできなかったため、ギフトカードの送り主が別のアドレスに送信しました。以前のリンクは使用できなくなり、カードがこのアドレスに送られることはありません。',
  'mail.recipientChanged.subject': 'ギフトカードのご注文 {orderRef} は別のアドレスに送信されました',
  'mail.recipientChanged.heading': 'ギフトカードのご注文は別のアドレスに送信されました',
};
