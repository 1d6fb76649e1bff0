#include "board.h"

#include "stm32f405.h"

/* The ports in the order QEMU's netduinoplus2 maps -serial 0..6 to them. */
static usart_registers *const PORTS[BOARD_PORTS] = {USART1, USART2, USART3, UART4, UART5, USART6, UART7};
/* The clocks board_init sets: the core at 168 MHz, as QEMU's netduinoplus2 models it; the ports' baud
 * rates divide their bus clock (USART1 and USART6 on APB2, the others on APB1). */
#define CORE_CLOCK_HZ 168000000u
#define APB1_CLOCK_HZ 42000000u
#define APB2_CLOCK_HZ 84000000u
/* How long to wait for a clock to report ready. QEMU's RCC is a stub whose ready bits never rise (its
 * core runs at 168 MHz anyway), so no wait may be unbounded. */
#define CLOCK_READY_SPINS 100000u

static volatile uint32_t milliseconds;

void SysTick_Handler(void);
void SysTick_Handler(void) { milliseconds++; }

static int wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t spin = 0; spin < CLOCK_READY_SPINS; spin++)
        if ((*reg & mask) == value)
            return 1;
    return 0;
}

static void clock_168mhz(void)
{
    RCC->CR |= RCC_CR_HSION;
    wait_for(&RCC->CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
    RCC->PLLCFGR = RCC_PLLCFGR_168MHZ_FROM_HSI;
    RCC->CR |= RCC_CR_PLLON;
    if (!wait_for(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY))
        return; /* stay on the HSI rather than switch to a clock that is not running */
    FLASH_INTERFACE->ACR = FLASH_ACR_168MHZ;
    RCC->CFGR = RCC_CFGR_PRESCALERS | RCC_CFGR_SW_PLL;
    wait_for(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL);
}

void board_init(void)
{
    clock_168mhz();
    RCC->APB1ENR |= RCC_APB1ENR_USART2EN | RCC_APB1ENR_USART3EN | RCC_APB1ENR_UART4EN | RCC_APB1ENR_UART5EN |
                    RCC_APB1ENR_UART7EN;
    RCC->APB2ENR |= RCC_APB2ENR_USART1EN | RCC_APB2ENR_USART6EN;
    SYSTICK->LOAD = CORE_CLOCK_HZ / 1000u - 1u;
    SYSTICK->VAL = 0;
    SYSTICK->CTRL = SYSTICK_CTRL_ENABLE | SYSTICK_CTRL_TICKINT | SYSTICK_CTRL_CLKSOURCE;
}

void board_port_open(unsigned port, board_line line)
{
    usart_registers *usart = PORTS[port];
    usart->CR1 = 0;
    uint32_t bus_hz = usart == USART1 || usart == USART6 ? APB2_CLOCK_HZ : APB1_CLOCK_HZ;
    usart->BRR = (bus_hz + line.baud / 2u) / line.baud;
    usart->CR3 = line.hardware_flow_control ? USART_CR3_RTSE | USART_CR3_CTSE : 0u;
    uint32_t parity = line.parity == PARITY_EVEN ? USART_CR1_PCE | USART_CR1_M : 0u;
    usart->CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | parity;
}

int board_port_read(unsigned port, uint8_t *byte)
{
    usart_registers *usart = PORTS[port];
    uint32_t status = usart->SR;
    if (!(status & (USART_SR_RXNE | USART_SR_ORE)))
        return 0;
    /* Reading DR clears RXNE and, after SR, an overrun: the lost bytes show as a broken frame upstream. */
    *byte = (uint8_t)usart->DR;
    return (status & USART_SR_RXNE) != 0;
}

void board_port_write(unsigned port, const uint8_t *bytes, size_t length)
{
    usart_registers *usart = PORTS[port];
    for (size_t i = 0; i < length; i++) {
        while (!(usart->SR & USART_SR_TXE))
            ;
        usart->DR = bytes[i];
    }
}

uint32_t board_millis(void) { return milliseconds; }

void board_watchdog_start(void)
{
    /* About 2 s at the LSI's 32 kHz with a /64 prescaler: the main loop feeds it every pass. */
    IWDG->KR = IWDG_KEY_UNLOCK;
    IWDG->PR = 4;
    IWDG->RLR = 1000;
    IWDG->KR = IWDG_KEY_RELOAD;
    IWDG->KR = IWDG_KEY_ENABLE;
}

void board_watchdog_feed(void) { IWDG->KR = IWDG_KEY_RELOAD; }

void board_exit(int code)
{
    /* ARM semihosting SYS_EXIT_EXTENDED (0x20): "application exit" with a status QEMU returns. */
    static uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    register uint32_t operation __asm__("r0") = 0x20u;
    register uint32_t *argument __asm__("r1") = block;
    __asm__ volatile("bkpt 0xAB" : : "r"(operation), "r"(argument) : "memory");
    for (;;)
        ;
}
