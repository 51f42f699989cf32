// How the fake implementations answer actions: a module of its own, with no dependencies, so that the bench's
// source process can use it without the relay's code.

/** How the fakes answer actions: frames without the echo (a stream action gives several). */
export class FakeReplies {
  private messageId: number;

  constructor(
    private readonly selfId: number,
    firstMessageId = 1001,
    /** What get_status says of the QQ account. */
    private readonly online: () => boolean = () => true,
  ) {
    this.messageId = firstMessageId - 1;
  }

  to(action: string, params: Record<string, unknown>): Record<string, unknown>[] {
    const ok = (data: unknown) => [{ status: 'ok', retcode: 0, data, message: '', wording: '' }];
    switch (action) {
      case 'get_login_info':
        return ok({ user_id: this.selfId, nickname: 'fake-bot' });
      case 'get_status':
        return ok({ online: this.online(), good: true });
      case 'get_group_list':
        return ok(
          [123456, GROUP].map((group_id) => ({ group_id, group_name: `group ${group_id}`, member_count: 3, max_member_count: 200 })),
        );
      case 'send_msg':
      case 'send_group_msg':
      case 'send_private_msg':
        return ok({ message_id: ++this.messageId });
      case 'get_msg':
        return ok({
          message_id: params.message_id,
          message_type: 'group',
          sender: { user_id: SENDER },
          message: STORED_MESSAGE,
          raw_message: STORED_CQ,
        });
      case 'echo_params':
      case '.handle_quick_operation':
        return ok(params);
      case 'test_stream':
        return [
          { status: 'ok', retcode: 0, data: { type: 'stream', data_type: 'data_chunk', index: 0 }, stream: 'stream-action' },
          { status: 'ok', retcode: 0, data: { type: 'stream', data_type: 'data_chunk', index: 1 }, stream: 'stream-action' },
          { status: 'ok', retcode: 0, data: { type: 'response', data_type: 'data_complete' }, stream: 'stream-action' },
        ];
      default:
        return [{ status: 'failed', retcode: 1404, data: null, message: `不支持的API ${action}`, wording: `不支持的API ${action}` }];
    }
  }
}

/** The message get_msg returns, as segments and as the CQ string that says the same (brackets and & escaped). */
export const STORED_MESSAGE = [
  { type: 'text', data: { text: 'see [this] & that, ' } },
  { type: 'image', data: { file: 'a,b.jpg', url: 'http://x/?a=1&b=[2]' } },
];
export const STORED_CQ = 'see &#91;this&#93; &amp; that, [CQ:image,file=a&#44;b.jpg,url=http://x/?a=1&amp;b=&#91;2&#93;]';

/** The group and sender of textMessage. */
export const GROUP = 987654;
export const SENDER = 246810;
