"""The documents a bureau prints and sends: the weekly bulletin (通报), the villages' follow-up
lists (催缴名单) and the households' payment notices (缴费通知单).

Each document is built once as data (money in integer fen), then written as JSON, as .xlsx
(xlsxwriter, with Chinese number formats and, for the bulletin, xlsxwriter's own chart) and as
PDF (a Django template rendered by WeasyPrint with the Chinese font of ``fonts``; the bulletin's
chart drawn by matplotlib). Money becomes yuan only in ``formats``, at the last step.
"""
