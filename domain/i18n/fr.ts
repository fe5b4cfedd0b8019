import type { Catalogue } from './catalogue';

export const fr: Catalogue = {
  'page.title': 'Vos cartes cadeaux',
  'page.orderRef': 'Référence de commande : {orderId}',
  'page.support': 'Aide : {support}',
  'support.default': 'le service client du commerçant',

  'landing.heading': 'Vos cartes cadeaux sont prêtes',
  'landing.summary':
    '{count, plural, one {# carte cadeau} other {# cartes cadeaux}} · ce lien est valable jusqu’au {expires, date, utc}',
  'landing.once':
    'Le lien ne fonctionne qu’une fois. « Afficher » montre les codes sur cet écran pendant {seconds, plural, one {# seconde} other {# secondes}} ; « Télécharger » les enregistre dans un fichier. L’un ou l’autre utilise le lien.',
  'landing.reveal': 'Afficher',
  'landing.downloadText': 'Télécharger (texte)',
  'landing.downloadPdf': 'Télécharger (PDF)',
  'landing.privacy': 'Assurez-vous que personne ne voit votre écran avant d’afficher les codes.',

  'reveal.card': 'Carte cadeau {n}',
  'reveal.code': 'Code',
  'reveal.serial': 'Numéro de série',
  'reveal.barcode': 'Code-barres ({format}) du code de cette carte',
  'reveal.qrcode': 'QR code du code de cette carte',
  'reveal.copy': 'Copier le code',
  'reveal.copied':
    'Code copié. Le presse-papiers sera vidé dans {seconds, plural, one {# seconde} other {# secondes}}.',
  'reveal.copiedKept':
    'Code copié. Votre navigateur ne permet pas à cette page de vider le presse-papiers : copiez autre chose une fois le code collé.',
  'reveal.cleared': 'Le presse-papiers a été vidé.',
  'reveal.copyFailed': 'Le code n’a pas pu être copié. Sélectionnez-le et copiez-le vous-même.',
  'reveal.clipboardCaution':
    'Un code copié reste dans le presse-papiers, où d’autres applications peuvent le lire. Si votre navigateur le permet, cette page le vide après {seconds, plural, one {# seconde} other {# secondes}} ; collez le code rapidement.',
  'reveal.print': 'Imprimer',
  'reveal.hideAfter':
    'Ces codes seront masqués après {seconds, plural, one {# seconde} other {# secondes}}. Utilisez-les ou notez-les maintenant.',
  'reveal.secondsLeft': 'Secondes restantes :',
  'reveal.hideNow': 'Masquer maintenant',
  'reveal.hiddenHeading': 'Les codes sont maintenant masqués',
  'reveal.hiddenText':
    'Ce lien ne pouvait servir qu’une fois : il ne peut plus afficher les codes. Pour obtenir un nouveau lien, contactez {support} en indiquant votre référence de commande {orderId}.',
  'reveal.noscript':
    'Fermez cette page une fois vos codes utilisés ou enregistrés. Ce lien ne peut plus les afficher ; pour un nouveau lien, contactez {support} avec la référence de commande {orderId}.',

  'download.title': 'Cartes cadeaux de la commande {orderId}',
  'download.private': 'Gardez ce fichier privé : quiconque possède ces codes peut les dépenser.',

  'error.notFound.heading': 'Ce lien n’est pas valide',
  'error.notFound.text': 'Vérifiez que vous avez ouvert le lien complet de votre e-mail.',
  'error.gone.heading': 'Ce lien a déjà été utilisé ou a expiré',
  'error.gone.text':
    'Les liens de cartes cadeaux ne fonctionnent qu’une fois et pour une durée limitée. Si vous avez encore besoin de vos cartes cadeaux, contactez {support} pour obtenir un nouveau lien.',
  'error.purged.heading': 'Ces cartes cadeaux ne sont plus disponibles',
  'error.purged.text':
    'Les cartes cadeaux de ce lien ne peuvent plus être affichées. Contactez {support} si vous avez besoin d’aide.',
  'error.unavailable.heading': 'Temporairement indisponible',
  'error.unavailable.text':
    'Nous n’avons pas pu ouvrir vos cartes cadeaux pour le moment. Votre lien n’a pas été utilisé. Veuillez réessayer dans quelques minutes.',
  'error.tooManyRequests.heading': 'Trop de requêtes',
  'error.tooManyRequests.text': 'Veuillez patienter une minute et réessayer.',
  'error.badRequest.heading': 'Cette requête n’a pas pu être traitée',
  'error.badRequest.text': 'Veuillez revenir en arrière et réessayer.',
  'error.pageNotFound.heading': 'Page introuvable',
  'error.pageNotFound.text': 'Il n’y a rien à cette adresse.',
  'error.serverError.heading': 'Une erreur est survenue',
  'error.serverError.text': 'Veuillez réessayer dans quelques minutes.',

  'mail.hello': 'Bonjour,',
  'mail.footer':
    'Vous recevez cet e-mail parce que des cartes cadeaux ont été achetées pour vous. Nous n’envoyons jamais de codes de cartes cadeaux par e-mail et ne vous les demanderons jamais.',
  'mail.link.subject': 'Vos cartes cadeaux (commande {orderRef})',
  'mail.link.heading': 'Vos cartes cadeaux sont prêtes',
  'mail.link.ready':
    'Vos cartes cadeaux de la commande {orderRef} sont prêtes : {count, plural, one {# carte} other {# cartes}}.',
  'mail.link.replaces':
    'Cet e-mail remplace un précédent concernant les mêmes cartes cadeaux : le lien de cet e-mail ne fonctionne plus.',
  'mail.link.open': 'Ouvrez ce lien pour les afficher ou les télécharger :',
  'mail.link.button': 'Ouvrir vos cartes cadeaux',
  'mail.link.once':
    'Le lien ne fonctionne qu’une fois et expire le {expires, date, utc}. Une fois les cartes affichées ou téléchargées, le lien ne fonctionne plus : gardez les codes en lieu sûr. S’il a expiré, demandez un nouveau lien à {support}.',
  'mail.notice.subject': 'À propos de votre commande de cartes cadeaux {orderRef}',
  'mail.notice.heading': 'À propos de votre commande de cartes cadeaux',
  'mail.notice.failed': 'Nous n’avons pas pu finaliser votre commande de cartes cadeaux.',
  'mail.notice.cancelled': 'Votre commande de cartes cadeaux a été annulée.',
  'mail.notice.deadline': 'Votre commande de cartes cadeaux n’a pas pu être finalisée à temps.',
  'mail.notice.some':
    '{delivered} sur {quantity, plural, one {# carte vous a été remise} other {# cartes vous ont été remises}} dans un e-mail séparé ; les autres ne le seront pas.',
  'mail.notice.none': 'Aucune carte n’a pu être remise.',
  'mail.notice.questions': 'Pour toute question, contactez {support} avec votre référence de commande.',
  'mail.notice.ref': 'Référence de commande : {orderRef}',
  'mail.notice.recipient-changed':
    'L’e-mail contenant le lien vers vos cartes cadeaux pour cette commande n’a pas pu être remis à cette adresse ; l’expéditeur des cartes l’a donc fait envoyer à une autre adresse. L’ancien lien ne fonctionne plus, et les cartes ne seront pas envoyées ici.',
  'mail.recipientChanged.subject':
    'Votre commande de cartes cadeaux {orderRef} a été envoyée à une autre adresse',
  'mail.recipientChanged.heading': 'Votre commande de cartes cadeaux a été envoyée à une autre adresse',
};
