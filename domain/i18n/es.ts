import type { Catalogue } from './catalogue';

export const es: Catalogue = {
  'page.title': 'Sus tarjetas regalo',
  'page.orderRef': 'Referencia del pedido: {orderId}',
  'page.support': 'Ayuda: {support}',
  'support.default': 'el servicio de atención al cliente del comercio',

  'landing.heading': 'Sus tarjetas regalo están listas',
  'landing.summary':
    '{count, plural, one {# tarjeta regalo} other {# tarjetas regalo}} · este enlace es válido hasta el {expires, date, utc}',
  'landing.once':
    'El enlace funciona una sola vez. «Mostrar» enseña los códigos en esta pantalla durante {seconds, plural, one {# segundo} other {# segundos}}; «Descargar» los guarda en un archivo. Cualquiera de los dos agota el enlace.',
  'landing.reveal': 'Mostrar',
  'landing.downloadText': 'Descargar (texto)',
  'landing.downloadPdf': 'Descargar (PDF)',
  'landing.privacy': 'Asegúrese de que nadie vea su pantalla antes de mostrar los códigos.',

  'reveal.card': 'Tarjeta regalo {n}',
  'reveal.code': 'Código',
  'reveal.serial': 'Número de serie',
  'reveal.barcode': 'Código de barras ({format}) del código de esta tarjeta',
  'reveal.qrcode': 'Código QR del código de esta tarjeta',
  'reveal.copy': 'Copiar código',
  'reveal.copied':
    'Código copiado. El portapapeles se vaciará en {seconds, plural, one {# segundo} other {# segundos}}.',
  'reveal.copiedKept':
    'Código copiado. Su navegador no permite que esta página vacíe el portapapeles: copie otra cosa después de pegar el código.',
  'reveal.cleared': 'Se ha vaciado el portapapeles.',
  'reveal.copyFailed': 'No se pudo copiar el código. Selecciónelo y cópielo usted.',
  'reveal.clipboardCaution':
    'Un código copiado queda en el portapapeles, donde otras aplicaciones pueden leerlo. Si su navegador lo permite, esta página lo vacía tras {seconds, plural, one {# segundo} other {# segundos}}; pegue el código pronto.',
  'reveal.print': 'Imprimir',
  'reveal.hideAfter':
    'Estos códigos se ocultarán tras {seconds, plural, one {# segundo} other {# segundos}}. Úselos o anótelos ahora.',
  'reveal.secondsLeft': 'Segundos restantes:',
  'reveal.hideNow': 'Ocultar ahora',
  'reveal.hiddenHeading': 'Los códigos ya están ocultos',
  'reveal.hiddenText':
    'Este enlace solo podía usarse una vez, así que no puede volver a mostrar los códigos. Para obtener un enlace nuevo, contacte con {support} e indique su referencia de pedido {orderId}.',
  'reveal.noscript':
    'Cierre esta página cuando haya usado o guardado sus códigos. Este enlace no puede volver a mostrarlos; para un enlace nuevo, contacte con {support} con la referencia de pedido {orderId}.',

  'download.title': 'Tarjetas regalo del pedido {orderId}',
  'download.private': 'Mantenga este archivo en privado: quien tenga estos códigos puede gastarlos.',

  'error.notFound.heading': 'Este enlace no es válido',
  'error.notFound.text': 'Compruebe que ha abierto el enlace completo de su correo.',
  'error.gone.heading': 'Este enlace ya se ha usado o ha caducado',
  'error.gone.text':
    'Los enlaces de tarjetas regalo funcionan una vez y durante un tiempo limitado. Si aún necesita sus tarjetas regalo, contacte con {support} para obtener un enlace nuevo.',
  'error.purged.heading': 'Estas tarjetas regalo ya no están disponibles',
  'error.purged.text':
    'Las tarjetas regalo de este enlace ya no se pueden mostrar. Contacte con {support} si necesita ayuda.',
  'error.unavailable.heading': 'No disponible temporalmente',
  'error.unavailable.text':
    'No hemos podido abrir sus tarjetas regalo ahora. Su enlace no se ha usado. Inténtelo de nuevo en unos minutos.',
  'error.tooManyRequests.heading': 'Demasiadas solicitudes',
  'error.tooManyRequests.text': 'Espere un minuto e inténtelo de nuevo.',
  'error.badRequest.heading': 'No se pudo procesar esta solicitud',
  'error.badRequest.text': 'Vuelva atrás e inténtelo de nuevo.',
  'error.pageNotFound.heading': 'Página no encontrada',
  'error.pageNotFound.text': 'No hay nada en esta dirección.',
  'error.serverError.heading': 'Algo ha fallado',
  'error.serverError.text': 'Inténtelo de nuevo en unos minutos.',

  'mail.hello': 'Hola:',
  'mail.footer':
    'Recibe este correo porque se compraron tarjetas regalo para usted. Nunca enviamos códigos de tarjetas regalo por correo y nunca se los pediremos.',
  'mail.link.subject': 'Sus tarjetas regalo (pedido {orderRef})',
  'mail.link.heading': 'Sus tarjetas regalo están listas',
  'mail.link.ready':
    'Sus tarjetas regalo del pedido {orderRef} están listas: {count, plural, one {# tarjeta} other {# tarjetas}}.',
  'mail.link.replaces':
    'Este correo sustituye a uno anterior sobre las mismas tarjetas regalo: el enlace de aquel correo ya no funciona.',
  'mail.link.open': 'Abra este enlace para mostrarlas o descargarlas:',
  'mail.link.button': 'Abrir sus tarjetas regalo',
  'mail.link.once':
    'El enlace funciona una vez y caduca el {expires, date, utc}. Después de mostrar o descargar las tarjetas, el enlace deja de funcionar, así que guarde los códigos en un lugar seguro. Si ha caducado, pida un enlace nuevo a {support}.',
  'mail.notice.subject': 'Sobre su pedido de tarjetas regalo {orderRef}',
  'mail.notice.heading': 'Sobre su pedido de tarjetas regalo',
  'mail.notice.failed': 'No hemos podido completar su pedido de tarjetas regalo.',
  'mail.notice.cancelled': 'Su pedido de tarjetas regalo se ha cancelado.',
  'mail.notice.deadline': 'Su pedido de tarjetas regalo no se pudo completar a tiempo.',
  'mail.notice.some':
    'Se le {delivered, plural, one {ha entregado #} other {han entregado #}} de {quantity, plural, one {# tarjeta} other {# tarjetas}} en un correo aparte; el resto no se entregará.',
  'mail.notice.none': 'No se pudo entregar ninguna tarjeta.',
  'mail.notice.questions': 'Si tiene preguntas, contacte con {support} indicando su referencia de pedido.',
  'mail.notice.ref': 'Referencia del pedido: {orderRef}',
  'mail.notice.recipient-changed':
    'El correo con el enlace a sus tarjetas regalo de este pedido no pudo entregarse en esta dirección, por lo que el remitente de las tarjetas lo hizo enviar a otra dirección. El enlace anterior ya no funciona, y las tarjetas no se enviarán aquí.',
  'mail.recipientChanged.subject': 'Su pedido de tarjetas regalo {orderRef} se envió a otra dirección',
  'mail.recipientChanged.heading': 'Su pedido de tarjetas regalo se envió a otra dirección',
};
